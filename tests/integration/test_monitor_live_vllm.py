"""Monitor against the real vLLM CPU engine: live /metrics while a streamed load runs."""

from __future__ import annotations

import asyncio
import json

import httpx
import psutil
from vllm_process import running_vllm

from llmops_tui.cli import main
from llmops_tui.engines.vllm import build_launch
from llmops_tui.telemetry.monitor import MonitorSampler
from llmops_tui.telemetry.scrape.scraper import MetricsScraper
from llmops_tui.telemetry.targets import EngineTarget

READY_TIMEOUT_S = 240


async def _stream(client: httpx.AsyncClient, url: str, model: str, i: int) -> int:
    body = {
        "model": model,
        "prompt": f"Request {i}: " + "tell me a long story about the sea. " * 20,
        "max_tokens": 800,  # long enough for several scrapes even on a fast box
        "ignore_eos": True,
        "stream": True,
    }
    chunks = 0
    async with client.stream("POST", url, json=body) as resp:
        assert resp.status_code == 200
        async for line in resp.aiter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                chunks += 1
    return chunks


async def _load_and_watch(spec, target: EngineTarget, n_requests: int = 32):
    scraper = MetricsScraper(timeout_s=5.0)
    seen = []
    try:
        baseline = await scraper.scrape(target)
        async with httpx.AsyncClient(timeout=300) as client:
            url = spec.openai_base_url + "/completions"
            load = asyncio.gather(
                *(_stream(client, url, spec.served_model_name, i) for i in range(n_requests))
            )
            load_task = asyncio.ensure_future(load)
            while not load_task.done():
                # Often: vLLM makes these 25,600 tokens in 1-3 s on 2 cores, and a
                # 0.5 s period once saw the load end before two scrapes.
                await asyncio.sleep(0.1)
                seen.append(await scraper.scrape(target))
            chunks = await load_task
        after = await scraper.scrape(target)
    finally:
        await scraper.aclose()
    return baseline, seen, chunks, after


def test_live_kv_usage_and_generation_rate_rise_under_load(tiny_profile, tmp_path, capsys):
    spec = build_launch(tiny_profile)
    with running_vllm(spec, tmp_path / "engine.log", READY_TIMEOUT_S) as proc:
        root = psutil.Process(proc.pid)
        pids = {root.pid, *(c.pid for c in root.children(recursive=True))}
        target = EngineTarget("tiny", "vllm", spec.metrics_url, pids)

        baseline, seen, chunks, after = asyncio.run(_load_and_watch(spec, target))

        assert baseline.ok, baseline.error
        assert baseline.kv_cache_usage == 0.0 and baseline.running == 0.0
        assert baseline.kv_capacity_tokens and baseline.kv_capacity_tokens > 1000
        assert all(c >= 1 for c in chunks)
        assert len(seen) >= 2, "the load finished before two scrapes"
        assert all(s.ok for s in seen), [s.error for s in seen if not s.ok]
        assert max(s.kv_cache_usage for s in seen) > 0.0
        assert max(s.running for s in seen) >= 1
        assert max(s.gen_tps or 0.0 for s in seen) > 0.0
        assert after.running == 0.0

        # The whole sampler (no GPU here → a reason, not a crash) and the headless command.
        async def one_sample():
            sampler = MonitorSampler(targets=lambda: [target])
            try:
                return await sampler.sample()
            finally:
                await sampler.aclose()

        snap = asyncio.run(one_sample())
        assert snap.engines[0].ok and snap.engines[0].model_name == spec.served_model_name
        if not snap.gpus.available:
            assert snap.gpus.reason.startswith("no NVIDIA GPU found")
            assert snap.host is not None

        capsys.readouterr()
        argv = ["top", "--once", "--json", "--interval", "0.5", "--url", f"tiny={spec.base_url}"]
        assert main(argv) == 0
        (engine,) = json.loads(capsys.readouterr().out)["engines"]
        assert engine["ok"] and engine["engine"] == "vllm"
        assert engine["kv_capacity_tokens"] == baseline.kv_capacity_tokens
        assert engine["gen_tps"] == 0.0  # idle: two scrapes, no tokens between them
