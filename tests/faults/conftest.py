"""Fault injection (issue 14): corrupt and missing state files, kill -9 of each engine
process at different phases, concurrent up/up and up/down. Engines are the stand-in
(tests/fixtures/fake_engine: real processes, real HTTP on loopback, an EngineCore-like
child); every command is a new `llmops` process, as a user would run it. Each test checks
that every message is true, nothing is lost, no traceback is printed and no process of
the engine is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import to_toml
from llmops_tui.supervisor.identity import home_of, scan

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"


def llmops(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    r = subprocess.run(
        [sys.executable, "-m", "llmops_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    return r


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "llmops_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def ours() -> list:
    """Live processes of engines launched with this test's state folder."""
    home = home_of(state_dir())
    return [s for s in scan() if s.marker and s.home == home]


def engine_pids(name: str) -> list[int]:
    """Every live process carrying a marker of engine ``name`` (any launch, any session)."""
    return sorted(s.pid for s in ours() if s.marker.rsplit(":", 1)[0] == name)


def launches(name: str) -> set[str]:
    return {s.marker for s in ours() if s.marker.rsplit(":", 1)[0] == name}


def alive(pids) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_for(cond, timeout: float = 20.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not met in {timeout} s"
        time.sleep(0.05)


def state_dir() -> Path:
    return Path(os.environ["LLMOPS_STATE_DIR"]) / "engines"


@pytest.fixture
def profile_file(tmp_path, port):
    """Write a fake-engine profile; returns a function (mode, name, **env) → path."""
    model = tmp_path / "model"
    model.mkdir()

    def make(mode: str = "ok", name: str = "fk", **env: str) -> Path:
        p = Profile(
            name=name,
            engine="vllm",
            model=str(model),
            served_model_name="fake-model",
            port=port,
            python=sys.executable,
            env={"PYTHONPATH": str(FAKE), "FAKE_ENGINE_MODE": mode, **env},
        )
        path = tmp_path / f"{name}.toml"
        path.write_text(to_toml(p))
        return path

    return make


@pytest.fixture(autouse=True)
def no_engine_left():
    """Fail a test that leaves a process of its engines behind (and kill it)."""
    yield
    deadline = time.monotonic() + 10
    left = []
    while time.monotonic() < deadline:
        left = ours()
        if not left:
            break
        time.sleep(0.1)
    for s in left:
        try:
            os.kill(s.pid, signal.SIGKILL)
        except OSError:
            pass
    assert not left, f"processes left behind: {[(s.pid, s.marker) for s in left]}"
