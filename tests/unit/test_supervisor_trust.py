"""Supervisor claims only what it checked (issue 14): the port is free only once a connect
fails, GPU memory released only once NVML lists no process of the engine (pid, command
and MiB named otherwise), swap never starts B while A holds memory; orphans of a killed
API server are shown and stopped; one launch per name; unreadable state files reported
(and the engine they described still found); api_key_env naming an unset variable
refused; state and logs owner-only. Engines here are `sleep`s and shell scripts."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from fake_nvml import FakeDevice, make_fake_nvml

from llmops_tui.engines.base import LaunchRefused, LaunchSpec
from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor import stopcheck
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.supervisor.records import EngineNotFound, StopIncomplete

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"
GIB = 1024**3


@pytest.fixture
def sup(tmp_path):
    s = Supervisor(tmp_path / "state", grace_s=2.0)
    yield s
    for pid in [p.pid for p in psutil.Process().children(recursive=True)]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def spawn(sup: Supervisor, tmp_path: Path, body: str, name: str = "eng", port: int = 1):
    """Start ``body`` (a shell script) through the supervisor's own spawn: its session,
    its marker, its record."""
    path = tmp_path / f"{name}-launcher"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    profile = Profile(name=name, engine="vllm", model="m", port=port, python=str(path))
    return sup._spawn(LaunchSpec(profile=profile, argv=(str(path),), port=port))


def serving(sup: Supervisor, rec):
    """Mark the record ready (an engine that fails before ready has its leftovers stopped
    at once; one that dies while serving keeps them until `down`)."""
    rec.phase = "ready"
    sup._save(rec)
    return rec


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_for(cond, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- down says only what it checked -------------------------------------------


def test_port_free_is_claimed_only_after_a_connect_fails(sup, tmp_path, monkeypatch):
    monkeypatch.setattr(stopcheck, "PORT_WAIT_S", 0.3)
    with socket.socket() as other:  # something else answers on the engine's port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        rec = spawn(sup, tmp_path, "exec sleep 60\n", port=port)
        with pytest.raises(StopIncomplete) as info:
            Supervisor(sup.state_dir).down("eng", grace=1.0)
    msg = str(info.value)
    assert f"port {port} still answers: pid {os.getpid()} (" in msg, msg
    assert f"port {port} free" not in msg
    assert not alive(rec.pid)
    assert info.value.report.ended == [rec.pid]


def test_gpu_memory_still_held_names_pid_command_and_mib(sup, tmp_path, monkeypatch):
    rec = spawn(sup, tmp_path, 'exec sleep 60 "$@"\n')
    # NVML keeps listing the engine's pid with 70 GiB after the process is gone.
    fake = make_fake_nvml([FakeDevice(compute=[(rec.pid, 70 * GIB)])])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(stopcheck, "GPU_WAIT_S", 0.3)
    other = Supervisor(sup.state_dir)  # a new llmops: no Popen, the command line differs
    with pytest.raises(StopIncomplete) as info:
        other.down("eng", grace=1.0)
    assert f"GPU memory still held: pid {rec.pid} (" in str(info.value)
    assert "71,680 MiB" in str(info.value)
    assert other.get("eng").gpu_memory_released is False


def test_gpu_memory_released_when_nvml_lists_nothing_of_the_engine(sup, tmp_path, monkeypatch):
    unrelated = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        fake = make_fake_nvml([FakeDevice(compute=[(unrelated.pid, 5 * GIB)])])
        monkeypatch.setitem(sys.modules, "pynvml", fake)
        spawn(sup, tmp_path, "exec sleep 60\n")
        rec, report = Supervisor(sup.state_dir).stop("eng", grace=1.0)
        assert report.ok and report.gpu is True and rec.gpu_memory_released is True
        assert "GPU memory released" in report.summary()
    finally:
        unrelated.kill()
        unrelated.wait()


def test_no_nvml_is_said_not_released(sup, tmp_path, monkeypatch):
    fake = make_fake_nvml([FakeDevice()], init_error="NVMLError_DriverNotLoaded")
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    spawn(sup, tmp_path, "exec sleep 60\n")
    _rec, report = sup.stop("eng", grace=1.0)
    assert report.gpu is None
    assert "no NVML" in report.summary() and "released" not in report.summary()


def test_swap_does_not_start_b_while_a_holds_gpu_memory(sup, tmp_path, monkeypatch):
    rec = spawn(sup, tmp_path, 'exec sleep 60 "$@"\n', name="a")
    fake = make_fake_nvml([FakeDevice(compute=[(rec.pid, 70 * GIB)])])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    monkeypatch.setattr(stopcheck, "GPU_WAIT_S", 0.3)
    (tmp_path / "model").mkdir()
    b = Profile(
        name="b",
        engine="vllm",
        model=str(tmp_path / "model"),
        port=1,
        python=sys.executable,
        env={"PYTHONPATH": str(FAKE)},
    )
    other = Supervisor(sup.state_dir)
    with pytest.raises(StopIncomplete, match=rf"GPU memory still held: pid {rec.pid} "):
        other.swap("a", b, timeout=10)
    assert other.get("b") is None  # never started


# -- orphans --------------------------------------------------------------------


def test_orphans_of_a_killed_main_process_are_shown_and_stopped(sup, tmp_path):
    rec = serving(sup, spawn(sup, tmp_path, "sleep 60 &\nexec sleep 61\n"))
    wait_for(lambda: len(psutil.Process(rec.pid).children()) == 1)
    [core] = psutil.Process(rec.pid).children()
    os.kill(rec.pid, signal.SIGKILL)
    sup._children["eng"].wait()
    other = Supervisor(sup.state_dir)
    [again] = other.records()
    assert again.phase == "failed"
    assert other.process_pids("eng") == [core.pid]
    assert other.running_names() == ["eng"]
    other.down("eng", grace=1.0)
    assert not alive(core.pid)


def test_ps_shows_orphans_with_pid_rss_and_how_to_end_them(tmp_path):
    state = tmp_path / "st"
    env = {**os.environ, "LLMOPS_STATE_DIR": str(state)}
    sup = Supervisor(state / "engines")
    rec = serving(sup, spawn(sup, tmp_path, "sleep 60 &\nexec sleep 61\n"))
    wait_for(lambda: len(psutil.Process(rec.pid).children()) == 1)
    [core] = psutil.Process(rec.pid).children()
    try:
        os.kill(rec.pid, signal.SIGKILL)
        sup._children["eng"].wait()
        r = subprocess.run(
            [sys.executable, "-m", "llmops_tui", "ps"], capture_output=True, text=True, env=env
        )
        assert r.returncode == 0, r.stderr
        assert "failed" in r.stdout
        assert (
            f"still running after its main process (pid {rec.pid}) ended: pid {core.pid} (sleep 60)"
            in r.stdout
        )
        assert "MB RSS" in r.stdout and "`llmops down eng` ends them" in r.stdout
        r = subprocess.run(
            [sys.executable, "-m", "llmops_tui", "ps", "--json"],
            capture_output=True,
            text=True,
            env=env,
        )
        [row] = json.loads(r.stdout)
        assert row["pids"] == [core.pid] and row["leftover"][0]["rss"] > 0
    finally:
        core.kill()


# -- one launch per name ---------------------------------------------------------


def test_a_second_launch_while_one_holds_the_lock_is_refused_naming_it(sup, tmp_path):
    from llmops_tui.supervisor.locks import engine_lock

    (tmp_path / "model").mkdir()
    p = Profile(name="one", engine="vllm", model=str(tmp_path / "model"), port=1)
    with engine_lock(sup.state_dir, "one", "launching"), pytest.raises(LaunchRefused) as info:
        Supervisor(sup.state_dir).up(p)
    assert str(info.value).startswith(
        f"not starting 'one': another llmops (pid {os.getpid()}: llmops "
    )
    assert str(info.value).endswith("is launching 'one' right now")


def test_an_unrecorded_launch_of_the_name_blocks_up_and_is_stopped_by_down(sup, tmp_path):
    first = spawn(sup, tmp_path, "exec sleep 60\n", name="dup")
    second = spawn(sup, tmp_path, "exec sleep 61\n", name="dup")  # the record names this one
    other = Supervisor(sup.state_dir)
    [lost] = other.lost()
    assert lost.reason == "dup: running, but its record names another launch"
    assert lost.pids == [first.pid]
    assert "dup" in other.running_names()
    _rec, report = other.stop("dup", grace=1.0)
    assert sorted(report.ended) == sorted([first.pid, second.pid])
    assert not alive(first.pid) and not alive(second.pid)


# -- unreadable records ------------------------------------------------------------

BAD = {
    "garbage": "\x00\x01not json at all",
    "empty": "",
    "list": "[1, 2, 3]",
    "wrong-type": None,  # filled in: the real record with pid = "abc"
    "truncated": None,  # filled in: the real record cut in half
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_unreadable_record_is_reported_and_its_engine_still_found(sup, tmp_path, kind):
    rec = spawn(sup, tmp_path, "exec sleep 60\n", name="bad")
    path = sup.engine_dir("bad") / "state.json"
    path.write_text(corrupt(path.read_text(), kind))
    other = Supervisor(sup.state_dir)
    assert other.records() == []
    [lost] = other.lost()
    assert lost.reason.startswith("record for bad unreadable: ")
    assert lost.pids == [rec.pid] and lost.state_file == path
    with pytest.raises(EngineNotFound, match="record for bad unreadable"):
        other.record("bad")
    assert other.get("bad") is None
    assert other.running_names() == ["bad"]
    _rec, report = other.stop("bad", grace=1.0)
    assert report.ended == [rec.pid] and not alive(rec.pid)
    assert report.notes[0].startswith("record for bad unreadable: ")
    assert "; moved it to " in report.notes[0]
    assert other.lost() == [] and not path.exists()


def corrupt(text: str, kind: str) -> str:
    if kind == "wrong-type":
        return json.dumps({**json.loads(text), "pid": "abc"})
    if kind == "truncated":
        return text[: len(text) // 2]
    return BAD[kind]


def test_ps_logs_down_of_a_non_object_record_say_so_without_traceback(tmp_path):
    state = tmp_path / "st"
    sup = Supervisor(state / "engines")
    rec = spawn(sup, tmp_path, "exec sleep 60\n", name="bad")
    (sup.engine_dir("bad") / "state.json").write_text("[1, 2, 3]")
    env = {**os.environ, "LLMOPS_STATE_DIR": str(state)}

    def cli(*args):
        return subprocess.run(
            [sys.executable, "-m", "llmops_tui", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    r = cli("ps")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.startswith("record for bad unreadable: expected a JSON object, found list (")
    assert f"still running: pid {rec.pid} (sleep 60)" in r.stdout
    assert "`llmops down bad` ends them" in r.stdout
    r = cli("logs", "bad")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "record for bad unreadable" in r.stderr
    r = cli("down", "bad")
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.startswith("stopped bad in ") and "1 process(es) ended" in r.stdout
    assert not alive(rec.pid)


def test_up_is_refused_while_an_unreadable_records_engine_runs(sup, tmp_path):
    rec = spawn(sup, tmp_path, "exec sleep 60\n", name="bad")
    (sup.engine_dir("bad") / "state.json").write_text("{")
    (tmp_path / "model").mkdir()
    p = Profile(name="bad", engine="vllm", model=str(tmp_path / "model"), port=1)
    with pytest.raises(LaunchRefused) as info:
        Supervisor(sup.state_dir).up(p)
    msg = str(info.value)
    assert msg.startswith("not starting 'bad': record for bad unreadable: ")
    assert f"its processes are still running (pids {rec.pid})" in msg


# -- bad input and security ----------------------------------------------------------


@pytest.mark.parametrize("value", [None, ""])
def test_api_key_env_naming_an_unset_variable_is_refused(sup, tmp_path, value, monkeypatch):
    (tmp_path / "model").mkdir()
    monkeypatch.delenv("LLMOPS_TEST_KEY", raising=False)
    if value is not None:
        monkeypatch.setenv("LLMOPS_TEST_KEY", value)
    p = Profile(
        name="k",
        engine="vllm",
        model=str(tmp_path / "model"),
        port=1,
        python=sys.executable,
        env={"PYTHONPATH": str(FAKE)},
        api_key_env="LLMOPS_TEST_KEY",
        host="0.0.0.0",
    )
    with pytest.raises(LaunchRefused) as info:
        sup.preflight(p)
    state = "is empty" if value == "" else "is not set"
    assert str(info.value) == (
        f"not starting 'k': api_key_env = 'LLMOPS_TEST_KEY' but the variable LLMOPS_TEST_KEY "
        f"{state} here; the engine would serve without authentication: export "
        "LLMOPS_TEST_KEY=… (the key) first"
    )
    monkeypatch.setenv("LLMOPS_TEST_KEY", "sk-1")
    sup.preflight(p)  # set: accepted


def test_state_files_and_engine_log_are_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        sup = Supervisor(tmp_path / "state" / "engines")
        spawn(sup, tmp_path, "exec sleep 60\n")
        sup.down("eng", grace=1.0)  # saves the record again
        spawn(sup, tmp_path, "exec sleep 60\n")  # rotates the log to engine.log.1
    finally:
        os.umask(old)
    d = sup.engine_dir("eng")
    for path in (sup.state_dir, d):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for name in ("state.json", "engine.log", "engine.log.1"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600, name
    sup.down("eng", grace=1.0)


def test_leftover_processes_are_described_with_rss_and_gpu_mib():
    from llmops_tui.supervisor.stopcheck import describe

    me = os.getpid()
    [with_nvml] = describe([me], {me: 73_038 * 1024 * 1024})
    assert with_nvml.text().startswith(f"pid {me} (")
    assert " MB RSS" in with_nvml.text() or " GB RSS" in with_nvml.text()
    assert with_nvml.text().endswith(" 73,038 MiB GPU")
    [no_nvml] = describe([me], None)
    assert "MiB" not in no_nvml.text() and no_nvml.gpu_mib is None
