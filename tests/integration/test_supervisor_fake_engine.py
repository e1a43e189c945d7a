"""The supervisor against a stand-in engine (tests/fixtures/fake_engine): real processes,
real HTTP on loopback, seconds instead of minutes. The real vLLM runs in test_engines_vllm.py."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.supervisor.health import port_in_use
from llmops_tui.supervisor.records import EngineFailed

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"


@pytest.fixture
def make_profile(tmp_path, port):
    model = tmp_path / "model"
    model.mkdir()

    def make(mode: str = "ok", name: str = "fake", **kw) -> Profile:
        return Profile(
            name=name,
            engine="vllm",
            model=str(model),
            served_model_name="fake-model",
            port=port,
            python=sys.executable,
            env={"PYTHONPATH": str(FAKE), "FAKE_ENGINE_MODE": mode, **kw},
        )

    return make


@pytest.fixture
def sup(tmp_path):
    s = Supervisor(tmp_path / "state", grace_s=5.0)
    yield s
    for rec in s.records():
        if rec.alive_phase or s.process_pids(rec.name):
            s.down(rec.name, grace=1.0)


def alive(pids) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def test_up_ready_reattach_down(sup, make_profile, tmp_path):
    seen = []
    rec = sup.up(make_profile(), wait=True, timeout=30, on_progress=lambda r: seen.append(r.phase))
    assert rec.phase == "ready" and seen[-1] == "ready" and "starting" in seen
    assert rec.startup_complete_at is not None and rec.ready_at >= rec.startup_complete_at
    pids = sup.process_pids("fake")
    assert len(pids) >= 2 and rec.pid in pids
    state = json.loads((tmp_path / "state" / "fake" / "state.json").read_text())
    assert state["phase"] == "ready" and state["argv"] == rec.argv

    other = Supervisor(tmp_path / "state")  # a new llmops process, nothing in memory
    [again] = other.records()
    assert again.phase == "ready" and again.pid == rec.pid
    assert other.process_pids("fake") == pids
    assert any("Application startup complete" in ln for ln in other.tail("fake", 10))

    stopped = other.down("fake")
    assert stopped.phase == "stopped"
    assert alive(pids) == []
    assert not port_in_use("127.0.0.1", rec.port)
    assert sup.records()[0].phase == "stopped"


def test_an_engine_behind_an_exec_wrapper_is_reattached_and_stopped(sup, make_profile, tmp_path):
    """`python = ` a 2-line `exec python3 "$@"` wrapper (pyenv shims, module wrappers): the
    root's command line is the interpreter's, not the argv; a new llmops still finds it."""
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    rec = sup.up(make_profile().with_overrides(python=str(wrapper)), wait=True, timeout=30)
    assert psutil.Process(rec.pid).cmdline()[0] == sys.executable != rec.argv[0]
    other = Supervisor(tmp_path / "state")
    [again] = other.records()
    assert again.phase == "ready", again.root_cause
    pids = other.process_pids("fake")
    assert len(pids) >= 2 and rec.pid in pids
    other.down("fake", grace=5.0)
    assert alive(pids) == []


def test_failed_launch_shows_the_root_cause_before_the_engine_exits(sup, make_profile):
    t0 = time.monotonic()
    with pytest.raises(EngineFailed) as info:
        sup.up(make_profile("fail"), wait=True, timeout=60)
    took = time.monotonic() - t0
    rec = info.value.record
    assert rec.phase == "failed"
    assert rec.root_cause.startswith("ValueError: Available memory on node 0")
    assert took < 15, took  # the fake lingers 30 s before exiting on its own
    assert sup.process_pids("fake") == []


def test_stop_escalates_to_sigkill_for_processes_that_ignore_signals(sup, make_profile):
    sup.up(make_profile("stubborn"), wait=True, timeout=30)
    pids = sup.process_pids("fake")
    assert len(pids) >= 2
    t0 = time.monotonic()
    sup.down("fake", grace=1.0)
    assert time.monotonic() - t0 < 8
    assert alive(pids) == []


def test_orphans_that_left_the_tree_are_found_by_session_and_stopped(sup, make_profile):
    rec = sup.up(make_profile("orphan"), wait=True, timeout=30)
    root = psutil.Process(rec.pid)
    tree = {rec.pid, *(c.pid for c in root.children(recursive=True))}
    pids = set(sup.process_pids("fake"))
    escaped = pids - tree
    assert escaped, "the double-forked grandchild should be outside the tree"
    for pid in escaped:
        assert os.getsid(pid) == rec.pid
    sup.down("fake")
    assert alive(pids) == []


def test_an_engine_that_dies_while_serving_is_reported_failed(sup, make_profile):
    # 3 s of serving first: on a loaded box readiness must be seen before the crash.
    sup.up(make_profile("crash", FAKE_CRASH_S="3"), wait=True, timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        [rec] = sup.records()
        if rec.phase != "ready":
            break
        time.sleep(0.1)
    assert rec.phase == "failed"
    assert "exited with code 3 while serving" in rec.root_cause
    sup.down("fake")  # its EngineCore stand-in is still in the session
    assert sup.process_pids("fake") == []


def test_second_up_of_a_running_engine_is_refused(sup, make_profile):
    from llmops_tui.engines.base import LaunchRefused

    sup.up(make_profile(), wait=True, timeout=30)
    with pytest.raises(LaunchRefused, match=r"already ready .*llmops down fake"):
        sup.up(make_profile())


def test_a_pid_reused_by_another_program_is_never_signalled(sup, make_profile, tmp_path):
    sup.up(make_profile(), wait=True, timeout=30)
    sup.down("fake")
    # Pretend the record was never updated and its pid now belongs to another program.
    victim = psutil.Popen(["sleep", "30"], start_new_session=True)
    try:
        state = tmp_path / "state" / "fake" / "state.json"
        data = json.loads(state.read_text())
        data.update(phase="ready", pid=victim.pid)
        state.write_text(json.dumps(data))
        other = Supervisor(tmp_path / "state")
        [r] = other.records()
        assert r.phase == "failed" and other.process_pids("fake") == []
        other.down("fake")
        assert victim.is_running() and victim.status() != psutil.STATUS_ZOMBIE
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()


async def test_async_wrapper_runs_the_same_lifecycle(make_profile, tmp_path):
    from llmops_tui.supervisor.aio import AsyncSupervisor

    asup = AsyncSupervisor(state_dir=tmp_path / "state")
    rec = await asup.up(make_profile(), wait=True, timeout=30)
    assert rec.phase == "ready"
    [listed] = await asup.records()
    assert listed.phase == "ready"
    pids = await asup.process_pids("fake")
    assert any("Application startup complete" in ln for ln in await asup.tail("fake", 5))
    stopped = await asup.down("fake")
    assert stopped.phase == "stopped" and alive(pids) == []


def test_secret_file_is_private_and_removed_once_started(tmp_path, port):
    """A LaunchSpec's secret file (the supervisor's way to hand an engine a secret off its
    command line) is written 0600 and removed once the engine has started or failed. No
    adapter uses it now: SGLang, its user, logs the key itself, so api_key_env is refused."""
    import dataclasses
    import stat

    sup = Supervisor(tmp_path / "state")
    p = Profile(name="sg", engine="sglang", model="org/m", port=port, executable="/bin/sleep")
    path = tmp_path / "secret-args.yaml"
    spec = dataclasses.replace(sup.build_spec(p), secret_file=(path, 'api-key: "sk-test"\n'))
    rec = sup._spawn(spec)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == 'api-key: "sk-test"\n'
    assert "sk-test" not in " ".join(rec.argv)
    with pytest.raises(EngineFailed):
        sup.wait_ready("sg", timeout=10)  # `sleep --model-path …` exits at once
    assert not path.exists()


def test_swap_stops_one_and_starts_the_other_on_the_same_port(sup, make_profile):
    a = sup.up(make_profile(name="a"), wait=True, timeout=30)
    a_pids = sup.process_pids("a")
    b = sup.swap("a", make_profile(name="b"), timeout=30)
    assert b.phase == "ready" and b.port == a.port
    assert alive(a_pids) == []
    assert {r.name: r.phase for r in sup.records()} == {"a": "stopped", "b": "ready"}


def test_swap_to_an_invalid_profile_leaves_the_running_engine_alone(sup, make_profile):
    from llmops_tui.engines.base import LaunchRefused

    sup.up(make_profile(name="a"), wait=True, timeout=30)
    bad = make_profile(name="b").with_overrides(gpu_memory_fraction=3.0)
    with pytest.raises(LaunchRefused, match="gpu_memory_fraction"):
        sup.swap("a", bad)
    assert sup.get("a").phase == "ready"


def test_profile_targets_follow_the_running_engine_not_the_file(
    make_profile, tmp_path, monkeypatch
):
    """`llmops chat/bench --profile NAME` and the Chat tab reach the engine where it runs
    (up --set port=…)."""
    from llmops_tui.bench.session import target_from_profile
    from llmops_tui.chat.targets import profile_targets
    from llmops_tui.profiles.store import save_profile
    from llmops_tui.supervisor.core import running_endpoint

    profile = make_profile(name="moved")
    profiles_dir = tmp_path / "profiles"
    save_profile(profile.with_overrides(port=1), profiles_dir / "moved.toml")  # file says :1
    monkeypatch.setenv("LLMOPS_PROFILES", str(profiles_dir))
    assert target_from_profile("moved").base_url.endswith(":1")
    sup = Supervisor()  # the default state dir, as the commands use
    try:
        sup.up(profile)
        sup.wait_ready("moved", timeout=60)
        assert running_endpoint("moved") == (f"http://127.0.0.1:{profile.port}", "fake-model")
        target = target_from_profile("moved")
        assert target.base_url == f"http://127.0.0.1:{profile.port}"
        assert target.model == "fake-model"
        # The Chat tab's candidates: the running engine where it listens, once.
        (candidate,) = profile_targets()
        assert (candidate.name, candidate.base_url, candidate.model) == (
            "moved",
            f"http://127.0.0.1:{profile.port}",
            "fake-model",
        )
    finally:
        sup.down("moved", grace=2.0)
    assert running_endpoint("moved") is None
    (candidate,) = profile_targets()  # stopped: where its file says
    assert candidate.base_url.endswith(":1")
