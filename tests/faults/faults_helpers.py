"""Helpers of the fault-injection tier: `llmops` as a new process, the engine's processes by
marker (only those of this test's state folder), waiting."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

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
