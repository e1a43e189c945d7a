"""Start a real vLLM from a launch spec as a plain process (not through the supervisor),
for tests of other layers; always stopped with its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


@contextlib.contextmanager
def running_vllm(spec, log_path: Path, ready_timeout_s: float) -> Iterator[subprocess.Popen]:
    """Yield the engine process once /health answers 200; fail with the log's tail if it
    exits or stays unhealthy; stop the group (SIGINT, then SIGKILL) on the way out."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(spec.health_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > ready_timeout_s:
                pytest.fail(
                    f"vLLM not healthy after {ready_timeout_s}s:\n{log_path.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
