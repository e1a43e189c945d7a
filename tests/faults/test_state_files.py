"""A running engine whose state file is damaged or gone: `ps`, `ps --json`, `logs`, `up` and
`down` (each a new llmops) never traceback, say what is wrong with the record, still find
the engine (its marker; what the file still reads), refuse a second launch, stop it all
and keep the damaged file aside."""

from __future__ import annotations

import json
import shutil

import pytest
from faults_helpers import alive, engine_pids, llmops, state_dir

from llmops_tui.supervisor.stopcheck import port_answers


def damage(path, kind: str) -> None:
    text = path.read_text()
    data = json.loads(text)
    writes = {
        "garbage": "\x00\xff\xfe garbage {{{",
        "empty": "",
        "truncated-10": text[: len(text) // 10],
        "truncated-50": text[: len(text) // 2],
        "truncated-90": text[: len(text) * 9 // 10],
        "list": "[1, 2, 3]",
        "string": '"ready"',
        "number": "42",
        "null": "null",
        "pid-not-int": json.dumps({**data, "pid": "abc"}),
        "phase-unknown": json.dumps({**data, "phase": "dancing"}),
        "fields-missing": json.dumps({"name": data["name"], "phase": "ready"}),
    }
    if kind in writes:
        path.write_text(writes[kind])
    elif kind == "deleted":
        path.unlink()
    elif kind == "a-directory":
        path.unlink()
        path.mkdir()
    elif kind == "engine-dir-deleted":
        shutil.rmtree(path.parent)
    else:
        raise AssertionError(kind)


UNREADABLE = [
    "garbage",
    "empty",
    "truncated-10",
    "truncated-50",
    "truncated-90",
    "list",
    "string",
    "number",
    "null",
    "pid-not-int",
    "phase-unknown",
    "fields-missing",
    "a-directory",
]
GONE = ["deleted", "engine-dir-deleted"]


@pytest.mark.parametrize("kind", UNREADABLE + GONE)
def test_damaged_state_file_of_a_running_engine(profile_file, port, kind):
    r = llmops("up", str(profile_file()), "--wait")
    assert r.returncode == 0, r.stderr
    pids = engine_pids("fk")
    assert len(pids) >= 2
    path = state_dir() / "fk" / "state.json"
    damage(path, kind)

    r = llmops("ps")
    assert r.returncode == 0, r.stderr
    if kind in UNREADABLE:
        assert r.stdout.startswith("record for fk unreadable: "), r.stdout
    else:
        assert r.stdout.startswith("fk: running without a record"), r.stdout
    assert f"{len(pids)} process(es) still running: pid {pids[0]} (" in r.stdout
    assert "`llmops down fk` ends them" in r.stdout

    r = llmops("ps", "--json")
    assert r.returncode == 0, r.stderr
    [row] = json.loads(r.stdout)
    assert row["pids"] == pids and row["port"] == port
    assert row["phase"] == ("unreadable" if kind in UNREADABLE else "unrecorded")

    r = llmops("logs", "fk")
    if kind in ("engine-dir-deleted", "deleted"):
        assert r.returncode == 4 and "no engine named 'fk'" in r.stderr
    else:
        assert r.returncode == 0 and "record for fk unreadable" in r.stderr
        assert "Application startup complete" in r.stdout

    r = llmops("up", str(profile_file()))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "its processes are still running" in r.stderr and "llmops down fk" in r.stderr
    assert engine_pids("fk") == pids  # no second engine

    r = llmops("down", "fk")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("stopped fk in "), r.stdout
    assert f"({len(pids)} process(es) ended, port {port} free, " in r.stdout
    assert alive(pids) == [] and not port_answers("127.0.0.1", port)
    if kind in UNREADABLE and kind != "a-directory":
        assert "moved it to " in r.stderr
        [kept] = path.parent.glob("state.json.unreadable-*")
        assert kept.exists()  # nothing lost: the damaged record is kept aside
    assert llmops("ps").stdout in ("no engines\n",) or " stopped " in llmops("ps").stdout

    r = llmops("up", str(profile_file()), "--wait")  # the name is usable again
    assert r.returncode == 0, r.stderr
    assert llmops("down", "fk").returncode == 0


def test_missing_state_folder_and_unknown_names_are_plain_messages():
    for args in (["ps"], ["down", "--all"]):
        r = llmops(*args)
        assert r.returncode == 0 and r.stdout in ("no engines\n", "no engine running\n")
    for args in (["logs", "ghost"], ["down", "ghost"]):
        r = llmops(*args)
        assert r.returncode == 4 and r.stderr.startswith("no engine named 'ghost'"), r.stderr
