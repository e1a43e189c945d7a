"""Fault injection (issue 14): corrupt and missing state files, kill -9 of each engine
process at different phases, concurrent up/up and up/down. Engines are the stand-in
(tests/fixtures/fake_engine: real processes, real HTTP on loopback, an EngineCore-like
child); every command is a new `llmops` process, as a user would run it. Each test checks
that every message is true, nothing is lost, no traceback is printed and no process of
the engine is left."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest
from faults_helpers import FAKE, ours

from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import to_toml


@pytest.fixture
def profile_file(tmp_path, port):
    """Write a fake-engine profile; returns a function (mode, name, **env) → path."""
    model = tmp_path / "model"
    model.mkdir()

    def make(mode: str = "ok", name: str = "fk", slow_preflight: bool = False, **env: str):
        python = sys.executable
        if slow_preflight:  # the launch's import check takes 3 s: up holds its lock that long
            python = str(tmp_path / "slow-python")
            Path(python).write_text(
                f'#!/bin/sh\n[ "$1" = "-c" ] && sleep 3\nexec {sys.executable} "$@"\n'
            )
            os.chmod(python, 0o755)
        p = Profile(
            name=name,
            engine="vllm",
            model=str(model),
            served_model_name="fake-model",
            port=port,
            python=python,
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
