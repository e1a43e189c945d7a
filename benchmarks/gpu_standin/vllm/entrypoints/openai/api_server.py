"""A GPU stand-in for `python -m vllm.entrypoints.openai.api_server` (benchmarks/gpu_bakeoff_check.py).

Holds GPU_STANDIN_GIB GiB on cuda:0 with torch (a real CUDA allocation NVML sees under this
pid), plus GPU_STANDIN_EXTRA_GIB more while requests are in flight (so peak > steady), and
serves benchmarks/sse_server.py's OpenAI-compatible streamer (TTFT 20 ms, ITL 2 ms) on
--host/--port. Not an engine: it exercises the bake-off's GPU sampling and freed-memory wait.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # benchmarks/

import sse_server
import torch

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=8000)
ap.add_argument("--served-model-name", default=None)
args, _ = ap.parse_known_args()
gib = float(os.environ.get("GPU_STANDIN_GIB", "4"))
extra_gib = float(os.environ.get("GPU_STANDIN_EXTRA_GIB", "2"))
device = os.environ.get("GPU_STANDIN_DEVICE", "cuda:0")  # "cpu" to try the flow without a GPU
print(f"INFO stand-in pid {os.getpid()}: allocating {gib:g} GiB on {device}", flush=True)
held = torch.empty(int(gib * 1024**3), dtype=torch.uint8, device=device)
held.fill_(1)
if device.startswith("cuda"):
    torch.cuda.synchronize()
extra = {"t": None}

orig_handle = sse_server.Conn.handle


def handle(self, request_line, body):  # grow while serving completions
    if request_line[1].startswith("/v1/") and request_line[0] == "POST" and extra["t"] is None:
        extra["t"] = torch.empty(int(extra_gib * 1024**3), dtype=torch.uint8, device=device)
        extra["t"].fill_(1)
    return orig_handle(self, request_line, body)


sse_server.Conn.handle = handle
print("INFO:     Application startup complete.", flush=True)
time.sleep(0.1)
sse_server.main(
    [
        "--host", args.host, "--port", str(args.port), "--ttft-ms", "20", "--itl-ms", "2",
        "--model", args.served_model_name or args.model,
    ]
)  # fmt: skip
