"""Latency distortion: does the client report the TTFT the server actually delivered?

The zero-cost server waits exactly --ttft-ms before the first token and
--itl-ms between tokens; C concurrent streams. The server records when it
wrote each first token (GET /stats: its own TTFT, the truth, including its
loop lag); the client's reported TTFT p50 is compared with the nominal value
and with the server's.

    .venv/bin/python benchmarks/latency_distortion.py [--concurrency 256]
"""

from __future__ import annotations

import argparse

from _common import (
    get_json,
    post,
    run_llmops_bench,
    run_vllm_bench,
    tiny_tokenizer,
    zero_cost_server,
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--ttft-ms", type=float, default=50.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--requests", type=int, default=1024)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--skip-vllm", action="store_true")
    a = p.parse_args()
    print(
        f"server TTFT {a.ttft_ms} ms, ITL {a.itl_ms} ms; {a.requests} requests × {a.tokens} "
        f"tokens, {a.concurrency} concurrent; server core {a.server_core}, client core {a.client_core}"
    )
    common = ["--num-requests", str(a.requests), "--concurrency", str(a.concurrency)]
    with zero_cost_server(
        a.server_core, "--ttft-ms", str(a.ttft_ms), "--itl-ms", str(a.itl_ms)
    ) as url:
        rows = []
        r = run_llmops_bench(
            a.client_core,
            url,
            *common,
            "--input-len",
            "32",
            "--output-len",
            str(a.tokens),
            "--ignore-eos",
        )
        truth = get_json(url + "/stats")["ttft_ms"]
        s = r["summary"]
        rows.append(("llmops bench", s["ttft_ms"], s["itl_ms"], truth))
        if not a.skip_vllm:
            post(url + "/stats/reset")
            v = run_vllm_bench(
                a.client_core,
                url,
                tiny_tokenizer(),
                "--dataset-name",
                "random",
                "--random-input-len",
                "32",
                "--random-output-len",
                str(a.tokens),
                "--ignore-eos",
                "--num-prompts",
                str(a.requests),
                "--max-concurrency",
                str(a.concurrency),
                "--num-warmups",
                "0",
                "--percentile-metrics",
                "ttft,itl",
                "--metric-percentiles",
                "50,99",
            )
            truth_v = get_json(url + "/stats")["ttft_ms"]
            rows.append(
                (
                    "vllm bench serve",
                    {"p50": v["median_ttft_ms"], "p99": v["p99_ttft_ms"]},
                    {"p50": v["median_itl_ms"], "p99": v["p99_itl_ms"]},
                    truth_v,
                )
            )
    print(
        f"{'client':<18}{'TTFT p50':>10}{'p99':>9}{'server p50':>12}{'Δ nominal':>11}{'Δ server':>10}{'ITL p50':>9}{'p99':>8}"
    )
    for name, ttft, itl, tr in rows:
        print(
            f"{name:<18}{ttft['p50']:>10.2f}{ttft['p99']:>9.2f}{tr['p50']:>12.2f}"
            f"{ttft['p50'] - a.ttft_ms:>+11.2f}{ttft['p50'] - tr['p50']:>+10.2f}"
            f"{itl['p50']:>9.2f}{itl['p99']:>8.2f}"
        )


if __name__ == "__main__":
    main()
