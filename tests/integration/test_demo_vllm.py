"""`llmops demo --no-tui` for real, once: it finds the CI engine env through
LLMOPS_ENVS_DIR (no install), writes the tiny model and the demo profile, starts the
engine, waits ready, and the engine answers a chat; then it is stopped."""

from __future__ import annotations

import subprocess
import sys

import httpx


def test_demo_reaches_a_ready_engine_that_replies(engine_python, ci_envs, tmp_path):
    import os

    env = {**os.environ, "LLMOPS_ENVS_DIR": str(ci_envs)}
    proc = subprocess.run(
        [sys.executable, "-m", "llmops_tui", "demo", "--no-tui", "--timeout", "400"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        out = proc.stdout
        assert "using 'ci-vllm'" in out and "creating" not in out  # reused, not installed
        assert "[2/4] model: writing" in out and "[3/4] profile: wrote" in out
        ready = next(line for line in out.splitlines() if line.startswith("ready: "))
        base_url = ready.split()[1]
        reply = httpx.post(
            f"{base_url}/v1/chat/completions",
            json={
                "model": "tiny-llama",
                "messages": [{"role": "user", "content": "hello"}],
                "max_tokens": 8,
            },
            timeout=120,
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["usage"]["completion_tokens"] > 0
    finally:
        down = subprocess.run(
            [sys.executable, "-m", "llmops_tui", "down", "demo"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    assert down.returncode == 0, down.stderr
    assert "stopped demo" in down.stdout
