"""The spine: tiny profile → real vLLM (CPU) → /health → streamed chat → /metrics → stop → nothing left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import psutil

from llmops_tui.engines.vllm import build_launch

READY_TIMEOUT_S = 240


def _wait_healthy(proc: subprocess.Popen, url: str, log_path) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < READY_TIMEOUT_S:
        if proc.poll() is not None:
            raise AssertionError(
                f"vLLM exited with {proc.returncode} while loading:\n{log_path.read_text()[-4000:]}"
            )
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return time.monotonic() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not healthy after {READY_TIMEOUT_S}s:\n{log_path.read_text()[-4000:]}")


def test_tiny_profile_serves_streams_reports_metrics_and_stops_clean(tiny_profile, tmp_path):
    spec = build_launch(tiny_profile)
    assert "--api-key" not in spec.argv
    log_path = tmp_path / "engine.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    tree: set[int] = set()
    try:
        _wait_healthy(proc, spec.health_url, log_path)
        root = psutil.Process(proc.pid)
        tree = {root.pid, *(c.pid for c in root.children(recursive=True))}
        assert len(tree) >= 2, "expected the API server and its EngineCore child"

        models = httpx.get(spec.openai_base_url + "/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["tiny-llama"]

        body = {
            "model": spec.served_model_name,
            "messages": [{"role": "user", "content": "hello, how are you"}],
            "max_tokens": 16,
            "stream": True,
            "stream_options": {"include_usage": True},
            "ignore_eos": True,
        }
        content_chunks, usage = 0, None
        with httpx.stream(
            "POST", spec.openai_base_url + "/chat/completions", json=body, timeout=60
        ) as resp:
            assert resp.status_code == 200
            for line in resp.iter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    usage = chunk["usage"]
                for choice in chunk.get("choices", []):
                    if choice.get("delta", {}).get("content"):
                        content_chunks += 1
        assert usage is not None and usage["completion_tokens"] == 16
        assert content_chunks >= 1

        metrics = httpx.get(spec.metrics_url, timeout=5).text
        assert "vllm:kv_cache_usage_perc{" in metrics
        gen = [ln for ln in metrics.splitlines() if ln.startswith("vllm:generation_tokens_total{")]
        assert gen and float(gen[0].rsplit(" ", 1)[1]) >= 16
    finally:
        # Stop: SIGINT to the whole process group, grace period, then SIGKILL what is left.
        try:
            os.killpg(proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            alive = [
                p
                for p in tree
                if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
            ]
            if not alive:
                break
            time.sleep(0.2)
    alive = [
        p
        for p in tree
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == [], f"processes left after stop: {alive}"
    with socket_closed(spec.port):
        pass


class socket_closed:
    """Context check that nothing listens on the port any more."""

    def __init__(self, port: int):
        self.port = port

    def __enter__(self):
        listening = [
            c
            for c in psutil.net_connections("tcp")
            if c.laddr and c.laddr.port == self.port and c.status == psutil.CONN_LISTEN
        ]
        assert not listening, f"port {self.port} still listened on: {listening}"
        return self

    def __exit__(self, *exc):
        return False
