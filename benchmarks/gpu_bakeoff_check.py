"""GPU check for the bake-off (run on a GPU box from the repository root, with an
interpreter that has CUDA torch, pynvml, psutil, httpx and prometheus_client):

    python benchmarks/gpu_bakeoff_check.py [OUT_DIR]

Two stand-in "engines" (benchmarks/gpu_standin: a real CUDA allocation of 4 and 8 GiB, +2 GiB
once serving, behind the zero-cost OpenAI streamer) are launched through the real Supervisor
and benchmarked with the `tiny` suite, one after the other. Prints the report; checks that
GPU memory was sampled per engine (peak ≈ allocation + CUDA context), and that each engine's
memory was freed before the next one started. Exit status 1 if a check fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
tmp = Path(tempfile.mkdtemp(prefix="llmops-gpu-bakeoff-"))
for var in ("CONFIG", "STATE", "DATA", "CACHE"):
    os.environ[f"LLMOPS_{var}_DIR"] = str(tmp / var.lower())

from llmops_tui.bench.bakeoff import Bakeoff  # noqa: E402
from llmops_tui.bench.bakeoff_report import format_report, write_report_files  # noqa: E402
from llmops_tui.bench.store import ResultStore  # noqa: E402
from llmops_tui.bench.suite import find_suite  # noqa: E402
from llmops_tui.config import paths  # noqa: E402
from llmops_tui.profiles.profile import Profile  # noqa: E402
from llmops_tui.supervisor.core import Supervisor  # noqa: E402

STANDIN = ROOT / "benchmarks" / "gpu_standin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def profile(name: str, gib: float) -> Profile:
    model = tmp / "model"
    model.mkdir(exist_ok=True)
    return Profile(
        name=name,
        engine="vllm",
        model=str(model),
        served_model_name="standin",
        port=free_port(),
        python=sys.executable,
        env={
            "PYTHONPATH": str(STANDIN),
            "GPU_STANDIN_GIB": str(gib),
            "GPU_STANDIN_EXTRA_GIB": "2",
            "GPU_STANDIN_DEVICE": os.environ.get("GPU_STANDIN_DEVICE", "cuda:0"),
        },
    )


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else tmp / "report"
    sup = Supervisor(paths().engines_state, grace_s=10)
    events: list[str] = []

    def on_event(msg: str) -> None:
        events.append(msg)
        print(f"[bakeoff] {msg}", flush=True)

    # GPU_CHECK_GIBS="0.1,0.2" GPU_STANDIN_DEVICE=cpu: the same flow without a GPU (checks fail)
    gibs = [float(x) for x in os.environ.get("GPU_CHECK_GIBS", "4,8").split(",")]
    bake = Bakeoff(
        [profile("gpu-4g", gibs[0]), profile("gpu-8g", gibs[1])],
        find_suite("tiny"),
        supervisor=sup,
        store=ResultStore(paths().results_db),
        on_event=on_event,
        ready_timeout=120,
    )
    result = asyncio.run(bake.run())
    print(format_report(result))
    files = write_report_files(result, out)
    print("files:", ", ".join(str(f) for f in files.values()))
    failures = []
    for e, gib in zip(result.engines, gibs):
        if e.status != "ok":
            failures.append(f"{e.profile}: {e.status} {e.reason}")
            continue
        if e.gpu_memory_released is not True:
            failures.append(f"{e.profile}: GPU memory released = {e.gpu_memory_released}")
        for s in e.scenarios:
            want_lo, want_hi = (gib + 2) * 1024, (gib + 2) * 1024 + 1024  # + CUDA context
            peak = s.gpu_mem_peak_mib
            print(
                f"{e.profile} {s.scenario}: peak {peak} MiB, steady {s.gpu_mem_steady_mib} MiB, "
                f"note {s.gpu_note}"
            )
            if peak is None or not want_lo <= peak <= want_hi:
                failures.append(f"{e.profile} {s.scenario}: peak {peak} not in {want_lo}-{want_hi}")
    stop_first = events.index("gpu-4g: stopped")
    start_second = next(i for i, m in enumerate(events) if m.startswith("gpu-8g: preflight"))
    if not stop_first < start_second:
        failures.append("second engine started before the first one's memory was freed")
    for f in failures:
        print("FAIL:", f)
    print("OK" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
