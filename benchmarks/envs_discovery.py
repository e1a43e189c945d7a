"""Time engine-environment discovery: cold (every interpreter probed, engine imported) vs
warm (probe cache hit), and serial vs parallel probes.

    LLMOPS_ENVS_DIR=~/.cache/llmops-ci/envs .venv/bin/python benchmarks/envs_discovery.py

Uses a throwaway cache dir; never writes into the envs. BENCH_EXTRA_PYTHONS (os.pathsep
separated) adds interpreters to the serial/parallel comparison.
"""

from __future__ import annotations

import os
import tempfile
import time

from llmops_tui import envprobe
from llmops_tui.envs.discovery import discover


def timed(label: str, fn) -> float:
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    print(f"{label:<48} {dt:7.2f} s")
    return result


def main() -> None:
    os.environ["LLMOPS_CACHE_DIR"] = tempfile.mkdtemp(prefix="llmops-bench-cache-")
    found, _ = timed(
        "discover, cold (probe + import check, parallel)",
        lambda: discover(include_docker=False, use_cache=False),
    )
    for e in found:
        print(f"    {e.name:<36} {e.status:<10} {e.engine or '-'} {e.engine_version or '-'}")
    timed("discover, warm (probe cache)", lambda: discover(include_docker=False))
    interps = [e.interpreter for e in found if e.interpreter and e.python_version]
    # more engine envs to probe side by side (read-only: the probe only imports)
    interps += [p for p in os.environ.get("BENCH_EXTRA_PYTHONS", "").split(os.pathsep) if p]
    cache = envprobe.ProbeCache(os.path.join(os.environ["LLMOPS_CACHE_DIR"], "x.json"))
    timed(
        f"{len(interps)} probes, serial",
        lambda: [envprobe.run_probe(i, "auto") for i in interps],
    )
    timed(
        f"{len(interps)} probes, parallel (threads)",
        lambda: envprobe.probe_many(interps, cache=cache, use_cache=False),
    )
    timed(
        "versions only (no import), parallel",
        lambda: envprobe.probe_many(interps, None, cache=cache, use_cache=False),
    )


if __name__ == "__main__":
    main()
