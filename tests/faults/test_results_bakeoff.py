"""`llmops bakeoff` (a real subprocess, a stand-in engine from tests/fixtures/fake_engine through the
real Supervisor) with a results.db that is not a database: the bake-off runs its suite anyway,
every scenario's run is kept in an owner-only file, the bake-off's result too, each file named."""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
import sys
from pathlib import Path

from results_faults import not_a_database

from llmops_tui.config import paths
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import save_profile
from llmops_tui.supervisor.core import Supervisor

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"
SUITE = """name = "fake"
warmup = 0

[[scenario]]
name = "one"
input_len = 8
output_len = 4
num_requests = 3
concurrency = 1

[[scenario]]
name = "two"
input_len = 8
output_len = 4
num_requests = 2
concurrency = 2
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bakeoff_with_a_broken_database_keeps_every_run(tmp_path):
    db = paths().results_db
    db.parent.mkdir(parents=True, exist_ok=True)
    not_a_database(db)
    model = tmp_path / "model"
    model.mkdir()
    profile = Profile(
        name="fake-ok",
        engine="vllm",
        model=str(model),
        served_model_name="fake-model",
        port=free_port(),
        python=sys.executable,
        env={"PYTHONPATH": str(FAKE), "FAKE_ENGINE_MODE": "ok"},
    )
    path = save_profile(profile, tmp_path / "fake-ok.toml")
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "llmops_tui", "bakeoff", str(path), "--suite", str(suite)],
            capture_output=True,
            text=True,
            timeout=180,
        )
    finally:
        sup = Supervisor()
        for rec in sup.records():
            if rec.alive_phase or sup.process_pids(rec.name):
                sup.down(rec.name, grace=1.0)
    assert proc.returncode == 4, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "bake-off NOT stored in the results database" in proc.stdout
    assert "file is not a database" in proc.stdout
    kept = Path(re.search(r"the bake-off's result is kept in (\S+) \(owner-only\)", proc.stdout)[1])
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    result = json.loads(kept.read_text())
    (engine,) = result["engines"]
    assert engine["status"] == "ok"
    # each scenario's run: named in the output, in its file, with every request it sent
    for sc, n in zip(engine["scenarios"], (3, 2)):
        line = f"fake-ok {sc['scenario']}: run kept in {sc['kept_in']}"
        assert line in proc.stdout
        run = json.loads(Path(sc["kept_in"]).read_text())
        assert len(run["requests"]) == n
        assert stat.S_IMODE(Path(sc["kept_in"]).stat().st_mode) == 0o600
