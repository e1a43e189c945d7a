"""Signals to a real foreground `llmops bench` mid-run: SIGTERM (kill, a scheduler), SIGHUP (the
SSH link dropped), SIGINT (Ctrl-C). Each keeps the partial run: stored (or kept in a file when
results.db is broken), --json written, and what is said matches what was stored."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

import pytest
from results_faults import ROOT, bench_argv, not_a_database, served, sse_server, wait_for

from llmops_tui.bench.store import ResultStore
from llmops_tui.config import paths

REASON = {
    signal.SIGTERM: "stopped by SIGTERM",
    signal.SIGHUP: "stopped by SIGHUP",
    signal.SIGINT: "stopped by the user",
}


def _signalled_run(sig, tmp_path):
    report = tmp_path / "r.json"
    with sse_server("--itl-ms", "5") as url:
        proc = subprocess.Popen(
            bench_argv(url, "--json", str(report), num=5000, out_len=40),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        try:
            wait_for(lambda: served(url) >= 12)
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    return proc.returncode, out, err, json.loads(report.read_text())


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
def test_a_signal_keeps_the_partial_run(sig, tmp_path):
    rc, out, err, report = _signalled_run(sig, tmp_path)
    assert rc == 3, err
    assert "Traceback" not in err
    assert f"partial: {REASON[sig]}" in out
    db = paths().results_db
    m = re.search(r"stored as run #(\d+) in (\S+)", out)
    assert m and m.group(2) == str(db)
    run = ResultStore(db).get(int(m.group(1)), with_requests=True)
    assert run.partial and run.reason == REASON[sig]
    done = run.summary["completed"]
    assert 8 <= done < 5000 and run.summary["failed"] == 0
    assert len(run.requests) == done
    # the --json file says the same as the database
    assert report["run_id"] == run.id
    assert report["summary"]["completed"] == done and report["summary"]["reason"] == REASON[sig]
    if sig != signal.SIGINT:
        assert f"{signal.Signals(sig).name}: stopping, keeping what finished" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_with_a_broken_database_keeps_the_run_in_a_file(sig, tmp_path):
    db = paths().results_db
    db.parent.mkdir(parents=True, exist_ok=True)
    not_a_database(db)
    rc, out, err, report = _signalled_run(sig, tmp_path)
    assert rc == 4, err
    assert f"partial: {REASON[sig]}" in out
    kept = re.search(r"the run is kept in (\S+) \(owner-only\)", out).group(1)
    data = json.loads(Path(kept).read_text())
    assert data["partial"] is True and data["reason"] == REASON[sig]
    assert data["summary"]["completed"] == report["summary"]["completed"] >= 8
    assert report["kept_in"] == kept
