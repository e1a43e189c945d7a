"""What the bake-off's sampler costs the load generator's event loop, per sample.

Each sample (every 0.5 s during a scenario) parses the engine's /metrics page into
EngineStats (KV usage) and, around each scenario, reads two prefix-cache counters;
NVML is read in a thread. This times the parsing on a real SGLang page (the fixture)
and on a synthetic vLLM-sized page, and one NVML read (no GPU here: the fast path).

    .venv/bin/python benchmarks/bakeoff_sampling.py
"""

from __future__ import annotations

import time
from pathlib import Path

from llmops_tui.bench.bakeoff_sampling import PREFIX_COUNTERS, counter_total
from llmops_tui.telemetry.gpu import NvmlReader
from llmops_tui.telemetry.scrape.engine_maps import stats_from_text
from llmops_tui.telemetry.scrape.samples import CounterRates, SeriesCache
from llmops_tui.telemetry.targets import EngineTarget

ROOT = Path(__file__).resolve().parents[1]
N = 2000


def vllm_like_page() -> str:
    """~600 lines like a vLLM page: the gauges/counters used, plus histogram buckets."""
    lines = [
        'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.42',
        'vllm:num_requests_running{engine="0",model_name="m"} 10.0',
        'vllm:num_requests_waiting{engine="0",model_name="m"} 0.0',
        'vllm:prompt_tokens_total{engine="0",model_name="m"} 123456.0',
        'vllm:generation_tokens_total{engine="0",model_name="m"} 654321.0',
        'vllm:prefix_cache_hits_total{engine="0",model_name="m"} 80000.0',
        'vllm:prefix_cache_queries_total{engine="0",model_name="m"} 120000.0',
    ]
    for h in range(12):
        lines.append(f"# TYPE vllm:histogram_{h} histogram")
        for b in range(45):
            lines.append(f'vllm:histogram_{h}_bucket{{engine="0",le="{b}.0",model_name="m"}} {b}')
    return "\n".join(lines)


def per_call_us(fn, n: int = N) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def measure(label: str, engine: str, text: str) -> None:
    target = EngineTarget("e", engine, "http://127.0.0.1:1/metrics")
    rates, cache = CounterRates(), SeriesCache()
    stats_us = per_call_us(lambda: stats_from_text(target, text, rates, None, engine, None, cache))
    hits, queries = PREFIX_COUNTERS[engine]
    counters_us = per_call_us(
        lambda: (counter_total(text, engine, hits), counter_total(text, engine, queries))
    )
    print(
        f"{label:24} {len(text.splitlines()):4} lines: EngineStats {stats_us:7.1f} µs/sample "
        f"({stats_us * 2 / 1e4:.3f}% of the loop at 2 Hz); "
        f"prefix counters {counters_us:7.1f} µs (twice per scenario)"
    )


def main() -> None:
    fixture = ROOT / "tests/fixtures/metrics/sglang-0.5-dp2-t1.prom"
    measure("sglang (fixture)", "sglang", fixture.read_text())
    measure("vllm-like (synthetic)", "vllm", vllm_like_page())
    reader = NvmlReader()
    nvml_us = per_call_us(reader.read, 200)
    print(
        f"NVML read: {nvml_us:.1f} µs ({reader.unavailable_reason or 'GPU present'}; in a thread)"
    )


if __name__ == "__main__":
    main()
