"""Supervisor: pre-launch refusals and state-file re-attach (stale pid, reused pid,
another engine's marker, an exec wrapper / console script whose command line is not the
argv). The re-attach cases need a live process to point at: a `sleep`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from fake_nvml import FakeDevice, make_fake_nvml

from llmops_tui.engines.base import LaunchRefused
from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.supervisor.records import EngineNotFound, EngineRecord


@pytest.fixture
def sup(tmp_path):
    return Supervisor(tmp_path / "state")


@pytest.fixture
def model_dir(tmp_path):
    d = tmp_path / "model"
    d.mkdir()
    return d


def vllm_profile(model_dir, port, **kw) -> Profile:
    base = dict(name="t", engine="vllm", model=str(model_dir), port=port, python=sys.executable)
    base.update(kw)
    return Profile(**base)


def test_port_in_use_names_the_process(sup, model_dir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(LaunchRefused) as info:
            sup.preflight(vllm_profile(model_dir, port))
    msg = str(info.value)
    assert f"port {port} on 127.0.0.1 is already in use by pid {os.getpid()} (" in msg


def test_missing_model_path(sup, tmp_path, port):
    with pytest.raises(LaunchRefused, match=r"model path .*/nope does not exist"):
        sup.preflight(vllm_profile(tmp_path / "nope", port))


def test_invalid_profile_names_the_field(sup, model_dir, port):
    p = vllm_profile(model_dir, port, gpu_memory_fraction=1.5)
    with pytest.raises(LaunchRefused) as info:
        sup.preflight(p)
    assert str(info.value) == (
        "profile 't' is invalid: gpu_memory_fraction: 1.5 is out of range; "
        "expected 0 < fraction <= 1 (e.g. 0.9)"
    )


def test_missing_interpreter(sup, model_dir, port):
    with pytest.raises(LaunchRefused, match=r"interpreter '/nonexistent/bin/python' not found"):
        sup.preflight(vllm_profile(model_dir, port, python="/nonexistent/bin/python"))


def test_interpreter_without_the_engine(sup, model_dir, port):
    # The app's own interpreter has no vLLM installed.
    with pytest.raises(LaunchRefused, match=r"cannot import 'vllm'"):
        sup.preflight(vllm_profile(model_dir, port))


def test_missing_executable(sup, port):
    p = Profile(name="g", engine="tgi", model="org/m", port=port, executable="no-such-launcher")
    with pytest.raises(LaunchRefused, match=r"executable 'no-such-launcher' not found"):
        sup.preflight(p)


def test_requested_gpu_absent(sup, model_dir, port, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", make_fake_nvml([FakeDevice(uuid="GPU-aaaa")]))
    p = vllm_profile(model_dir, port, gpus="0,3", tensor_parallel=2)
    with pytest.raises(LaunchRefused) as info:
        sup.preflight(p)
    assert "GPU 3 requested but this box has GPU index(es): 0" in str(info.value)


def test_gpus_requested_without_nvml(sup, model_dir, port, monkeypatch):
    fake = make_fake_nvml([FakeDevice()], init_error="NVMLError_DriverNotLoaded")
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    with pytest.raises(
        LaunchRefused,
        match=r"gpus = '0' requested but no NVIDIA GPU found: the NVIDIA kernel driver is not loaded",
    ):
        sup.preflight(vllm_profile(model_dir, port, gpus="0"))


def test_every_problem_is_listed_at_once(sup, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        p = vllm_profile(tmp_path / "nope", port, python="/nonexistent/python")
        with pytest.raises(LaunchRefused) as info:
            sup.preflight(p)
    lines = str(info.value).splitlines()
    assert lines[0] == "not starting 't':"
    assert len(lines) == 4


def test_down_of_an_unknown_engine(sup):
    with pytest.raises(EngineNotFound, match="no engine named 'ghost'"):
        sup.down("ghost")


# -- re-attach ---------------------------------------------------------------


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def write_record(sup: Supervisor, **kw) -> Path:
    d = sup.engine_dir("old")
    d.mkdir(parents=True)
    (d / "engine.log").write_text("")
    rec = EngineRecord(
        name="old",
        engine="vllm",
        profile_path=None,
        pid=kw.pop("pid"),
        create_time=kw.pop("create_time"),
        argv=kw.pop("argv"),
        host="127.0.0.1",
        port=1,  # nothing answers there: readiness probes fail fast
        base_url="http://127.0.0.1:1",
        metrics_url="http://127.0.0.1:1/metrics",
        served_model_name="m",
        started_at=time.time(),
        phase=kw.pop("phase", "ready"),
        log_path=str(d / "engine.log"),
    )
    (d / "state.json").write_text(json.dumps(rec.to_json()))
    return d / "state.json"


def test_reattach_verifies_pid_create_time_and_cmdline(sup, sleeper):
    p = psutil.Process(sleeper.pid)
    write_record(sup, pid=p.pid, create_time=p.create_time(), argv=p.cmdline(), phase="loading")
    [rec] = sup.records()
    assert rec.phase == "loading"  # alive and ours; not ready (nothing answers on port 1)
    assert sup.process_pids("old") == [sleeper.pid]
    sup.down("old", grace=2.0)
    assert sleeper.wait(timeout=5) is not None


def test_stale_pid_is_not_trusted(sup):
    gone = subprocess.Popen(["true"])
    gone.wait()
    write_record(sup, pid=gone.pid, create_time=time.time() - 5, argv=["true"])
    [rec] = sup.records()
    assert rec.phase == "failed"
    assert "exited while serving" in rec.root_cause
    assert sup.process_pids("old") == []


def test_reused_pid_is_not_trusted_nor_signalled(sup, sleeper):
    p = psutil.Process(sleeper.pid)
    write_record(sup, pid=p.pid, create_time=p.create_time() - 100, argv=p.cmdline())
    [rec] = sup.records()
    assert rec.phase == "failed"
    assert sup.process_pids("old") == []
    sup.down("old")
    assert sleeper.poll() is None  # still running: never signalled


def test_a_different_marker_is_not_trusted_nor_signalled(sup):
    env = {**os.environ, "LLMOPS_ENGINE": "other:0123456789abcdef"}  # another engine
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True, env=env)
    try:
        p = psutil.Process(proc.pid)
        path = write_record(sup, pid=p.pid, create_time=p.create_time(), argv=p.cmdline())
        data = json.loads(path.read_text())
        path.write_text(json.dumps({**data, "marker": "old:fedcba9876543210"}))
        [rec] = sup.records()
        assert rec.phase == "failed"
        assert sup.process_pids("old") == []
        sup.down("old")
        assert proc.poll() is None  # never signalled
    finally:
        proc.kill()
        proc.wait()


def test_a_record_without_marker_is_trusted_only_while_its_root_leads_the_session(sup):
    # Same pid, start time and command line, but not the session llmops creates.
    proc = subprocess.Popen(["sleep", "60"])
    try:
        p = psutil.Process(proc.pid)
        write_record(sup, pid=p.pid, create_time=p.create_time(), argv=p.cmdline())
        [rec] = sup.records()
        assert rec.phase == "failed"
        sup.down("old")
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def _spawn_script(sup, tmp_path, script: str) -> EngineRecord:
    from llmops_tui.engines.base import LaunchSpec

    path = tmp_path / "launcher"
    path.write_text(script)
    path.chmod(0o755)
    profile = Profile(name="wrapped", engine="vllm", model="m", port=1, python=str(path))
    return sup._spawn(LaunchSpec(profile=profile, argv=(str(path), "60"), port=1))


@pytest.mark.parametrize(
    "script",
    [
        '#!/bin/sh\nexec sleep "$@"\n',  # an exec wrapper (pyenv shim, module wrapper)
        f"#!{sys.executable}\nimport sys, time\ntime.sleep(int(sys.argv[1]))\n",  # `vllm`
    ],
    ids=["exec-wrapper", "console-script"],
)
def test_an_engine_whose_command_line_is_not_its_argv_is_reattached(sup, tmp_path, script):
    rec = _spawn_script(sup, tmp_path, script)
    deadline = time.monotonic() + 5
    while psutil.Process(rec.pid).cmdline()[:1] == [rec.argv[0]]:  # until the exec is done
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert psutil.Process(rec.pid).cmdline() != rec.argv
    other = Supervisor(sup.state_dir)  # a new llmops process: no Popen, only the record
    [again] = other.records()
    assert again.phase == "starting", again.root_cause
    assert other.process_pids("wrapped") == [rec.pid]
    assert psutil.Process(rec.pid).environ()["LLMOPS_ENGINE"] == again.marker
    assert again.marker.startswith("wrapped:") and again.sid == rec.pid
    other.down("wrapped", grace=2.0)
    assert not psutil.pid_exists(rec.pid) or psutil.Process(rec.pid).status() == "zombie"
    sup.refresh(sup._load("wrapped"))  # reaps our child


def test_corrupt_state_file_is_skipped(sup):
    d = sup.engine_dir("bad")
    d.mkdir(parents=True)
    (d / "state.json").write_text("{not json")
    assert sup.records() == []


# -- two llmops on one record ------------------------------------------------


@pytest.mark.parametrize("disk_phase", ["stopping", "stopped"])
def test_an_engine_another_llmops_stops_while_it_loads_is_not_called_failed(
    sup, tmp_path, disk_phase
):
    # `up --wait` (sup, holding the child) read the record while the engine was loading;
    # a `down` in another llmops wrote "stopping" and ended it. The child's death is that
    # stop, not a failure: the refresh must neither say "failed" nor write it over the stop.
    rec = _spawn_script(sup, tmp_path, '#!/bin/sh\nexec sleep "$@"\n')
    read_while_loading = sup._load("wrapped")
    assert read_while_loading.phase == "starting"
    other = Supervisor(sup.state_dir)
    if disk_phase == "stopped":
        other.down("wrapped", grace=2.0)
    else:  # the stop is under way: "stopping" saved, the engine signalled
        mid = other._load("wrapped")
        mid.phase = "stopping"
        other._save(mid)
        os.killpg(rec.pid, 9)
    sup._children["wrapped"].wait(timeout=5)
    seen = sup.refresh(read_while_loading)
    assert seen.phase == disk_phase, seen.root_cause
    assert json.loads((sup.engine_dir("wrapped") / "state.json").read_text())["phase"] == disk_phase
    from llmops_tui.supervisor.records import EngineFailed

    with pytest.raises(EngineFailed, match=r"wrapped was stopp(ing|ed) before it was ready"):
        sup.wait_ready("wrapped", timeout=5)


def test_an_engine_that_dies_on_its_own_while_loading_is_failed(sup, tmp_path):
    rec = _spawn_script(sup, tmp_path, '#!/bin/sh\nexec sleep "$@"\n')
    read_while_loading = sup._load("wrapped")
    os.killpg(rec.pid, 9)  # nobody stopped it: it died
    sup._children["wrapped"].wait(timeout=5)
    seen = sup.refresh(read_while_loading)
    assert seen.phase == "failed" and "before it was ready" in seen.root_cause
    assert json.loads((sup.engine_dir("wrapped") / "state.json").read_text())["phase"] == "failed"


def test_an_engine_still_loading_gets_the_short_grace(sup, tmp_path, monkeypatch):
    from llmops_tui.supervisor import stopping

    monkeypatch.setattr(stopping, "LOADING_GRACE_S", 0.5)
    # A launcher that ignores SIGTERM, still "starting": SIGKILL after the short grace,
    # not the supervisor's 20 s (nothing is being served, nothing to let finish).
    script = "#!/bin/sh\ntrap '' TERM\nexec sleep \"$@\"\n"  # sleep inherits the ignore
    rec = _spawn_script(sup, tmp_path, script)
    assert sup.grace_s == 20.0 and sup._load("wrapped").phase == "starting"
    t0 = time.monotonic()
    _rec, report = sup.stop("wrapped")
    assert report.ok and report.ended and time.monotonic() - t0 < 10, report.summary()
    assert not psutil.pid_exists(rec.pid) or psutil.Process(rec.pid).status() == "zombie"
