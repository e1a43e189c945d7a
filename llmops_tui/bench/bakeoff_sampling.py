"""What a bake-off samples while a scenario runs: GPU memory of the engine's processes
(NVML), KV-cache usage and prefix-cache counters from ``/metrics``."""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, field
from typing import Any

MIB = 1024 * 1024
SAMPLE_INTERVAL_S = 0.5


# Prefix-cache counters per engine: (hits, queries); both in tokens.
PREFIX_COUNTERS = {
    "vllm": (
        ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
        ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    ),
    "sglang": (("sglang:cached_tokens_total",), ("sglang:prompt_tokens_total",)),
}


# -- sampling during a scenario ------------------------------------------------------
def counter_total(text: str, engine: str, names: tuple[str, ...]) -> float | None:
    """Sum over ranks of the first counter in ``names`` present in a /metrics page."""
    from llmops_tui.telemetry.scrape.engine_maps import WANTED
    from llmops_tui.telemetry.scrape.samples import parse_samples

    wanted = WANTED.get(engine)
    if wanted is None:
        return None
    samples = parse_samples(text, wanted)
    found = samples.get(*names)
    if not found:
        return None
    return sum(v for _, v in found)


def prefix_hit_rate_delta(
    before: tuple[float | None, float | None], after: tuple[float | None, float | None]
) -> tuple[float | None, float | None]:
    """(hit rate, queries) between two (hits, queries) counter readings.

    None when the engine has no such counters; rate 0 when nothing was looked up
    (so "caching off" reads 0, not unknown). A counter that went down (engine
    restarted) counts from 0.
    """
    (h0, q0), (h1, q1) = before, after
    if h1 is None or q1 is None:
        return None, None
    dh = h1 - (h0 or 0) if h0 is not None and h1 >= h0 else h1
    dq = q1 - (q0 or 0) if q0 is not None and q1 >= q0 else q1
    if dq <= 0:
        return 0.0, 0.0
    return min(max(dh / dq, 0.0), 1.0), dq


def steady_value(samples: list[float]) -> float | None:
    """The median of the second half of the samples (after the ramp-up)."""
    if not samples:
        return None
    tail = samples[len(samples) // 2 :]
    return float(statistics.median(tail))


class GpuMemorySampler:
    """GPU memory held by an engine's processes (sum over GPUs), or why it is unknown."""

    def __init__(self, reader: Any = None) -> None:
        from llmops_tui.telemetry.gpu import NvmlReader

        self.reader = reader or NvmlReader()

    def read_mib(self, pids: set[int]) -> tuple[float | None, str | None]:
        snap = self.reader.read()
        if not snap.available:
            return None, snap.reason or "no GPU"
        used = 0
        per_process = False
        for gpu in snap.gpus:
            for p in gpu.processes:
                if p.pid in pids and p.used_bytes is not None:
                    used += p.used_bytes
                    per_process = True
        if per_process:
            return used / MIB, None
        # No per-process figures (MIG, containers): whole-GPU memory in use instead.
        total = sum(g.memory_used or 0 for g in snap.gpus)
        return total / MIB, "whole-GPU memory (no per-process figures)"

    def close(self) -> None:
        self.reader.close()


@dataclass
class ScenarioSamples:
    gpu_mib: list[float] = field(default_factory=list)
    gpu_note: str | None = None
    kv: list[float] = field(default_factory=list)


async def sample_loop(
    stop: asyncio.Event,
    gpu: GpuMemorySampler | None,
    pids: set[int],
    scraper: Any,
    target: Any,
    out: ScenarioSamples,
) -> None:
    while True:
        if gpu is not None:
            mib, note = await asyncio.to_thread(gpu.read_mib, pids)
            if mib is not None:
                out.gpu_mib.append(mib)
            out.gpu_note = note
        stats = await scraper.scrape(target)
        if stats.kv_cache_usage is not None:
            out.kv.append(stats.kv_cache_usage)
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_INTERVAL_S)
            return
        except asyncio.TimeoutError:
            pass
