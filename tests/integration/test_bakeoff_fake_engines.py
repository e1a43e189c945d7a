"""The bake-off's failure paths with stand-in engines (tests/fixtures/fake_engine): real
processes through the real Supervisor, seconds instead of minutes. One engine refused
(port taken), one failing at start, one dying mid-run, one stopped by the user: each is
recorded with its reason and the bake-off goes on to the next."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

import psutil
import pytest

from llmops_tui.bench.bakeoff import Bakeoff
from llmops_tui.bench.bakeoff_report import csv_rows, format_report
from llmops_tui.bench.bakeoff_results import BakeoffStore
from llmops_tui.bench.store import ResultStore
from llmops_tui.bench.suite import parse_suite
from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor.core import Supervisor

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"

SUITE = """name = "fake"
warmup = 1

[[scenario]]
name = "one"
input_len = 8
output_len = 4
num_requests = 2
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


@pytest.fixture
def make_profile(tmp_path):
    model = tmp_path / "model"
    model.mkdir()

    def make(name: str, mode: str = "ok", port: int | None = None) -> Profile:
        return Profile(
            name=name,
            engine="vllm",
            model=str(model),
            served_model_name="fake-model",
            port=port or free_port(),
            python=sys.executable,
            env={"PYTHONPATH": str(FAKE), "FAKE_ENGINE_MODE": mode},
        )

    return make


@pytest.fixture
def sup(tmp_path):
    s = Supervisor(tmp_path / "state", grace_s=3.0)
    yield s
    for rec in s.records():
        if rec.alive_phase or s.process_pids(rec.name):
            s.down(rec.name, grace=1.0)


def test_failures_are_recorded_and_the_bakeoff_moves_on(make_profile, sup, tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    refused = make_profile("fake-busy", port=busy.getsockname()[1])
    fails = make_profile("fake-fail", mode="fail")
    dies = make_profile("fake-dies")
    ok = make_profile("fake-ok")
    store = ResultStore(tmp_path / "results.db")
    events: list[str] = []

    def on_event(msg: str) -> None:
        events.append(msg)
        if msg.startswith("fake-dies: one"):  # kill the engine as its first scenario starts
            procs = [psutil.Process(p) for p in sup.process_pids("fake-dies")]
            for p in procs:
                os.kill(p.pid, signal.SIGKILL)
            psutil.wait_procs(procs, timeout=10)

    bake = Bakeoff(
        [refused, fails, dies, ok],
        parse_suite(SUITE),
        supervisor=sup,
        store=store,
        on_event=on_event,
        ready_timeout=60,
        request_timeout=10,
        gpu=False,
    )
    try:
        result = asyncio.run(bake.run())
    finally:
        busy.close()

    by = {e.profile: e for e in result.engines}
    assert by["fake-busy"].status == "refused"
    assert "already in use" in by["fake-busy"].reason
    assert by["fake-fail"].status == "failed"
    assert "Available memory on node 0" in by["fake-fail"].reason
    assert by["fake-dies"].status == "died"
    assert "exited" in by["fake-dies"].reason
    dies_sc = {s.scenario: s for s in by["fake-dies"].scenarios}
    assert dies_sc["one"].status == "failed" and dies_sc["two"].status == "not run"
    # the stand-in serves no completions: the engine ran its suite, every request failed
    assert by["fake-ok"].status == "ok"
    assert [s.status for s in by["fake-ok"].scenarios] == ["failed", "failed"]
    assert by["fake-ok"].scenarios[0].summary["failed"] == 2
    assert by["fake-ok"].scenarios[0].gpu_note == "no NVML"
    assert not result.partial
    for e in result.engines[:2]:
        assert [s.status for s in e.scenarios] == ["not run", "not run"]
    # every engine stopped, nothing left running
    assert not [r.name for r in sup.records() if r.alive_phase]
    assert len(csv_rows(result)) == 4 * 2
    text = format_report(result)
    assert "refused" in text and "died" in text
    # runs of the engines that ran are stored and linked
    linked = BakeoffStore(store).run_ids(result.id)
    assert sorted({p for _, p, _ in linked}) == ["fake-dies", "fake-ok"]
    assert BakeoffStore(store).get(result.id).engines[2].status == "died"
    assert any(m.startswith("fake-ok: stopping") for m in events)


def test_stop_request_stops_the_running_engine_and_keeps_what_is_done(make_profile, sup, tmp_path):
    first = make_profile("fake-first")
    second = make_profile("fake-second")
    stop_holder: dict[str, asyncio.Event] = {}

    def on_event(msg: str) -> None:
        if msg.startswith("fake-first: two"):
            stop_holder["stop"].set()  # Ctrl-C during the second scenario of the first engine

    async def go():
        stop_holder["stop"] = asyncio.Event()
        bake = Bakeoff(
            [first, second],
            parse_suite(SUITE),
            supervisor=sup,
            store=None,
            on_event=on_event,
            stop=stop_holder["stop"],
            ready_timeout=60,
            request_timeout=10,
            gpu=False,
        )
        return await bake.run()

    result = asyncio.run(go())
    assert result.partial and result.reason == "stopped by the user"
    a, b = result.engines
    assert a.status == "stopped" and a.scenarios[0].status == "failed"  # ran (501s), kept
    assert b.status == "stopped" and b.reason == "bake-off stopped before this engine"
    assert all(s.status == "not run" for s in b.scenarios)
    assert sup.get("fake-first").phase == "stopped"
    assert sup.get("fake-second") is None  # never launched


def test_cli_ctrl_c_stops_the_starting_engine_and_writes_the_partial_report(tmp_path):
    import json
    import subprocess

    from llmops_tui.profiles.store import save_profile

    model = tmp_path / "model"
    model.mkdir()
    files = []
    for name in ("fake-slow", "fake-next"):
        p = Profile(
            name=name,
            engine="vllm",
            model=str(model),
            served_model_name="fake-model",
            port=free_port(),
            python=sys.executable,
            env={"PYTHONPATH": str(FAKE), "FAKE_ENGINE_MODE": "ok", "FAKE_LOAD_S": "30"},
        )
        files.append(str(save_profile(p, tmp_path / f"{name}.toml")))
    suite = tmp_path / "fake.toml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "llmops_tui", "bakeoff", *files, "--suite", str(suite),
         "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        for line in proc.stderr:
            if "fake-slow: starting" in line:
                break
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, stderr
    assert "partial: stopped by the user" in stdout
    data = json.loads((out / "bakeoff.json").read_text())["bakeoff"]
    assert data["partial"] is True
    slow, nxt = data["engines"]
    assert slow["status"] == "stopped" and "while starting" in slow["reason"]
    assert nxt["status"] == "stopped" and nxt["reason"] == "bake-off stopped before this engine"
    assert (out / "bakeoff.csv").read_text().count(",not run,") == 2 * 2  # engines × scenarios
    sup = Supervisor()
    (rec,) = sup.records()
    assert rec.name == "fake-slow" and rec.phase == "stopped"
    assert not sup.process_pids("fake-slow")
