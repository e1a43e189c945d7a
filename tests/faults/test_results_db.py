"""`llmops bench` (a real subprocess against a local streaming server) with a results.db that
cannot take the run: not a database, truncated, a schema not ours, a newer schema, a folder,
locked by another writer. Nothing is lost: the summary is printed, --json written, the run kept
in an owner-only file that `bench import` stores once the printed `mv` command moved the bad
database aside; `bench runs/show/compare` say the same, never a traceback."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess

import pytest
from results_faults import BROKEN, locked, run_bench, served, sse_server

from llmops_tui.bench.store import ResultStore
from llmops_tui.cli import main
from llmops_tui.config import paths


def _kept_file(out: str):
    m = re.search(r"the run is kept in (\S+) \(owner-only\)", out)
    assert m, out
    from pathlib import Path

    return Path(m.group(1))


def _check_kept_run(proc, report_path, n=20):
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert re.search(rf"Successful requests:\s+{n}\b", proc.stdout)
    assert "NOT stored in the results database" in proc.stdout
    kept = _kept_file(proc.stdout)
    assert kept.is_file() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    data = json.loads(kept.read_text())
    assert len(data["requests"]) == n and data["summary"]["completed"] == n
    report = json.loads(report_path.read_text())  # --json written all the same
    assert report["run_id"] is None and report["kept_in"] == str(kept)
    assert len(report["requests"]) == n
    return kept


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_database_loses_nothing_and_says_how_to_fix_it(kind, tmp_path, capsys):
    db = paths().results_db
    db.parent.mkdir(parents=True, exist_ok=True)
    BROKEN[kind](db)
    with sse_server("--itl-ms", "1") as url:
        proc = run_bench(url, "--json", str(tmp_path / "r.json"))
    kept = _check_kept_run(proc, tmp_path / "r.json")

    # bench runs / show / compare: the same message, exit 1, never a traceback
    for argv in (["bench", "runs"], ["bench", "show", "1"], ["bench", "compare", "1", "2"]):
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert str(db) in err and "Traceback" not in err
        assert "move it aside" in err, err
    # `bench runs` also names the kept run
    main(["bench", "runs"])
    assert f"kept in {kept.parent}" in capsys.readouterr().err

    # the printed command really moves the bad database aside …
    mv = re.search(r"^.*?(mv -- .*)$", proc.stdout, re.M).group(1)
    subprocess.run(["bash", "-c", mv], check=True)
    assert not db.exists()
    # … and then the kept run is stored, the file removed
    assert main(["bench", "import", str(kept)]) == 0
    assert "stored as run #1" in capsys.readouterr().out
    assert not kept.exists()
    run = ResultStore(db).get(1, with_requests=True)
    assert run.summary["completed"] == 20 and len(run.requests) == 20
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_a_locked_database_keeps_the_run_and_says_it_is_locked(tmp_path, capsys):
    db = paths().results_db
    db.parent.mkdir(parents=True, exist_ok=True)
    with sse_server("--itl-ms", "1") as url, locked(db):
        proc = run_bench(url, "--json", str(tmp_path / "r.json"))  # waits 10 s for the lock
        assert "is locked by another process" in proc.stdout
        assert "mv --" not in proc.stdout  # nothing wrong with the file: no advice to move it
        kept = _check_kept_run(proc, tmp_path / "r.json")
    # the lock is gone: import stores it next to the run that was there
    assert main(["bench", "import", str(kept)]) == 0
    assert "stored as run #2" in capsys.readouterr().out
    assert ResultStore(db).get(2).summary["completed"] == 20


def test_a_missing_database_is_created_owner_only(tmp_path):
    db = paths().results_db
    assert not db.exists()
    with sse_server("--itl-ms", "1") as url:
        proc = run_bench(url)
    assert proc.returncode == 0, proc.stderr
    assert f"stored as run #1 in {db}" in proc.stdout
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert ResultStore(db).get(1).summary["completed"] == 20


@pytest.mark.parametrize(
    "flag,where,why",
    [
        ("--json", "missing/r.json", "does not exist"),
        ("--csv", ".", "is a folder"),
        ("--json", "file.txt/r.json", "is not a folder"),
        ("--csv", "/sys/llmops-test.csv", "cannot write there"),  # even root may not
    ],
)
def test_output_paths_are_checked_before_any_request(flag, where, why, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with sse_server("--itl-ms", "1") as url:
        proc = run_bench(url, flag, str(tmp_path / where))
        assert proc.returncode == 2
        assert why in proc.stderr and flag in proc.stderr
        assert served(url) == 0  # refused before sending anything
    assert not paths().results_db.exists()


def test_json_and_csv_on_the_same_file_are_refused(tmp_path):
    with sse_server("--itl-ms", "1") as url:
        proc = run_bench(url, "--json", str(tmp_path / "r"), "--csv", str(tmp_path / "r"))
        assert proc.returncode == 2 and "same file" in proc.stderr
        assert served(url) == 0


def test_the_move_aside_command_takes_a_stale_journal_along(tmp_path, capsys):
    import sqlite3

    from llmops_tui.bench.fallback import store_problem

    db = tmp_path / "results.db"
    BROKEN["not-a-database"](db)
    journal = tmp_path / "results.db-journal"
    journal.write_bytes(b"\0" * 512)
    msg = store_problem(db, sqlite3.DatabaseError("file is not a database"))
    mv = msg[msg.index("mv -- ") :]
    subprocess.run(["bash", "-c", mv], check=True)
    assert not db.exists() and not journal.exists()
    moved = sorted(p.name for p in tmp_path.iterdir())
    assert len(moved) == 2 and moved[1] == moved[0] + "-journal"
    # a new database starts clean where the old one was
    ResultStore(db).save(target={}, workload={}, load={}, summary={}, requests=[])
    assert ResultStore(db).get(1) is not None


def test_no_usable_data_folder_keeps_the_run_in_a_private_temp_folder(
    tmp_path, monkeypatch, capsys
):
    data = tmp_path / "data"
    data.write_text("a file where the data folder should be")
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(data))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with sse_server("--itl-ms", "1") as url:
        proc = run_bench(url, "--json", str(tmp_path / "r.json"))
    assert f"results database {data / 'results.db'} cannot be created" in proc.stdout
    assert "mv --" not in proc.stdout  # nothing there to move aside
    kept = _check_kept_run(proc, tmp_path / "r.json")
    assert kept.parent == tmp_path / "tmp" / f"llmops-{os.getuid()}-unsaved-runs"


def test_full_and_read_only_databases_get_advice_that_fits(tmp_path):
    import sqlite3

    from llmops_tui.bench.fallback import store_problem

    db = tmp_path / "results.db"
    ResultStore(db).save(target={}, workload={}, load={}, summary={}, requests=[])
    full = sqlite3.connect(db)
    full.execute("PRAGMA max_page_count = 8")  # SQLite's own "disk full", without filling one
    try:
        full.execute("INSERT INTO runs (created_at, status, target, workload, load, summary)"
                     " VALUES (0, 'complete', ?, '{}', '{}', '{}')", ("x" * 100_000,))  # fmt: skip
        raise AssertionError("expected a full database")
    except sqlite3.OperationalError as exc:
        msg = store_problem(db, exc)
    full.close()
    assert msg.startswith(f"no space left for results database {db}") and "mv" not in msg
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        ro.execute("DELETE FROM runs")
        raise AssertionError("expected a read-only database")
    except sqlite3.OperationalError as exc:
        msg = store_problem(db, exc)
    ro.close()
    assert "is read-only" in msg and f"chmod u+w {db}" in msg
