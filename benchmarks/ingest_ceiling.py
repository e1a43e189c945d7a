"""Client ingest ceiling: completion chunks/s one core can take in, ours vs `vllm bench serve`.

Zero-cost server (benchmarks/sse_server.py, no delays) pinned to one core, the
client pinned to another; N requests × 256 tokens, one SSE event per token in
its own HTTP chunk, C in flight. Chunks/s = output tokens / benchmark duration
(every chunk is one token, the server's usage says so).

    .venv/bin/python benchmarks/ingest_ceiling.py [--requests 2000] [--concurrency 64]
"""

from __future__ import annotations

import argparse

from _common import run_llmops_bench, run_vllm_bench, tiny_tokenizer, zero_cost_server


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--batch", type=int, default=1, help="events per server write")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--skip-vllm", action="store_true")
    a = p.parse_args()
    common = ["--num-requests", str(a.requests), "--concurrency", str(a.concurrency)]
    print(
        f"{a.requests} requests × {a.tokens} chunks, {a.concurrency} in flight, "
        f"server core {a.server_core}, client core {a.client_core}, server batch {a.batch}"
    )
    with zero_cost_server(a.server_core, "--batch", str(a.batch)) as url:
        ours = []
        for _ in range(a.repeat):
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
            s = r["summary"]
            assert s["failed"] == 0, s["errors"]
            ours.append(s["output_throughput"])
        print(
            f"llmops bench:     {max(ours):>10,.0f} chunks/s  (runs: {', '.join(f'{x:,.0f}' for x in ours)})"
        )
        if a.skip_vllm:
            return
        tok = tiny_tokenizer()
        theirs = []
        for _ in range(a.repeat):
            r = run_vllm_bench(
                a.client_core,
                url,
                tok,
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
            )
            assert r["completed"] == a.requests, r.get("errors")
            theirs.append(r["output_throughput"])
        print(
            f"vllm bench serve: {max(theirs):>10,.0f} chunks/s  (runs: {', '.join(f'{x:,.0f}' for x in theirs)})"
        )
        print(f"ratio: {max(ours) / max(theirs):.2f}×")


if __name__ == "__main__":
    main()
