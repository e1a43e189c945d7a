"""What load-test telemetry costs the load generator: client ceiling and TTFT accuracy with
the sampler on (the default) and off (``--no-telemetry``), runs interleaved.

The zero-cost server (benchmarks/sse_server.py) answers ``/metrics`` with the real vLLM CPU
page (~600 lines) plus live running/tokens/TTFT histogram, so the sampler does its full work
(HTTP GET, parse, NVML where there is a GPU) 5 times a second, in its own thread of the
client process. Server and client are pinned to one core each.

- Ceiling: N requests × 256 tokens, no delays, C in flight: output chunks/s (best of R).
- Accuracy: server TTFT 50 ms, ITL 5 ms, 256 streams: client TTFT p50 minus the server's
  own (GET /stats, the truth).

    .venv/bin/python benchmarks/telemetry_cost.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics

from _common import get_json, post, run_llmops_bench, zero_cost_server

MODES = (("off", ("--no-telemetry",)), ("on", ()))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--streams", type=int, default=256)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    ceiling: dict[str, list[float]] = {m: [] for m, _ in MODES}
    samples: dict[str, list[int]] = {m: [] for m, _ in MODES}
    cpu_ms: list[float] = []
    with zero_cost_server(a.server_core) as url:
        for _ in range(a.repeat):
            for mode, flags in MODES:
                r = run_llmops_bench(
                    a.client_core, url, "--num-requests", str(a.requests),
                    "--concurrency", str(a.concurrency), "--input-len", "32",
                    "--output-len", str(a.tokens), "--ignore-eos", *flags,
                )  # fmt: skip
                assert r["summary"]["failed"] == 0, r["summary"]["errors"]
                ceiling[mode].append(r["summary"]["output_throughput"])
                samples[mode].append(len(r.get("telemetry", [])))
                tel = r["summary"].get("telemetry")
                if tel:
                    cpu_ms.append(tel["sampler_cpu_ms_per_sample"])
    delta: dict[str, list[float]] = {m: [] for m, _ in MODES}
    with zero_cost_server(a.server_core, "--ttft-ms", "50", "--itl-ms", "5") as url:
        for _ in range(a.repeat):
            for mode, flags in MODES:
                post(url + "/stats/reset")
                r = run_llmops_bench(
                    a.client_core, url, "--num-requests", str(4 * a.streams),
                    "--concurrency", str(a.streams), "--input-len", "32",
                    "--output-len", "128", "--ignore-eos", *flags,
                )  # fmt: skip
                truth = get_json(url + "/stats")["ttft_ms"]["p50"]
                delta[mode].append(r["summary"]["ttft_ms"]["p50"] - truth)
    print(
        f"ceiling: {a.requests} requests × {a.tokens} chunks, {a.concurrency} in flight; "
        f"accuracy: {a.streams} streams, TTFT 50 ms, ITL 5 ms; {a.repeat} runs each, interleaved"
    )
    print(f"{'telemetry':<10}{'best chunks/s':>15}{'median':>12}{'samples/run':>13}"
          f"{'TTFT p50 − truth (ms): median':>31}{'max':>8}")  # fmt: skip
    for mode, _ in MODES:
        c, d = ceiling[mode], delta[mode]
        print(
            f"{mode:<10}{max(c):>15,.0f}{statistics.median(c):>12,.0f}"
            f"{statistics.median(samples[mode]):>13.0f}"
            f"{statistics.median(d):>+31.2f}{max(d):>+8.2f}"
        )
    ratio = max(ceiling["on"]) / max(ceiling["off"])
    med = statistics.median(ceiling["on"]) / statistics.median(ceiling["off"])
    print(f"on/off ceiling: best {ratio:.3f}, median {med:.3f} (target ≥ 0.95)")
    if cpu_ms:
        print(f"sampler thread CPU per sample: median {statistics.median(cpu_ms):.2f} ms")


if __name__ == "__main__":
    main()
