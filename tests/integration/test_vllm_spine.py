"""The spine: tiny profile → real vLLM (CPU) → /health → streamed chat → /metrics → stop → nothing left.

Launch and stop go through the supervisor (spawn in its own session, readiness, tree stop)."""

from __future__ import annotations

import json

import httpx
import psutil

from llmops_tui.supervisor.core import Supervisor

READY_TIMEOUT_S = 240


def test_tiny_profile_serves_streams_reports_metrics_and_stops_clean(tiny_profile, tmp_path):
    sup = Supervisor(tmp_path / "engines")
    rec = sup.up(tiny_profile, wait=True, timeout=READY_TIMEOUT_S)
    tree: set[int] = set()
    try:
        assert "--api-key" not in rec.argv
        tree = set(sup.process_pids(rec.name))
        assert len(tree) >= 2, "expected the API server and its EngineCore child"

        models = httpx.get(rec.openai_base_url + "/models", timeout=5).json()
        assert [m["id"] for m in models["data"]] == ["tiny-llama"]

        body = {
            "model": rec.served_model_name,
            "messages": [{"role": "user", "content": "hello, how are you"}],
            "max_tokens": 16,
            "stream": True,
            "stream_options": {"include_usage": True},
            "ignore_eos": True,
        }
        content_chunks, usage = 0, None
        with httpx.stream(
            "POST", rec.openai_base_url + "/chat/completions", json=body, timeout=60
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

        metrics = httpx.get(rec.metrics_url, timeout=5).text
        assert "vllm:kv_cache_usage_perc{" in metrics
        gen = [ln for ln in metrics.splitlines() if ln.startswith("vllm:generation_tokens_total{")]
        assert gen and float(gen[0].rsplit(" ", 1)[1]) >= 16
    finally:
        stopped = sup.down(rec.name)
    assert stopped.phase == "stopped"
    alive = [
        p
        for p in tree
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    assert alive == [], f"processes left after stop: {alive}"
    listening = [
        c
        for c in psutil.net_connections("tcp")
        if c.laddr and c.laddr.port == rec.port and c.status == psutil.CONN_LISTEN
    ]
    assert not listening, f"port {rec.port} still listened on: {listening}"
