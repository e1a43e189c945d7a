"""GPU-box check of the engine + monitor GPU paths (run on the H100 from the repo root).

    python3 benchmarks/gpu_engine_check.py [--gib 10]

1. The supervisor launches the stand-in engine (tests/fixtures/fake_engine) whose EngineCore
   child holds N GiB on cuda:0 with torch, like a real engine's worker.
2. `llmops gpus --json`-equivalent: NVML sees the process, and the monitor maps it to the
   engine by the supervisor's process tree.
3. A headless Pilot run of the Monitor tab shows the GPU pane with that process.
4. `down`: every process gone and the supervisor confirms the GPU memory was released.
Prints what it saw as JSON lines; exit 1 if a check failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from llmops_tui.profiles.profile import Profile  # noqa: E402
from llmops_tui.supervisor.core import Supervisor  # noqa: E402
from llmops_tui.telemetry.gpu import NvmlReader  # noqa: E402
from llmops_tui.telemetry.targets import pid_owners, running_engine_targets  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def show(tag: str, data) -> None:
    print(json.dumps({tag: data}, default=str), flush=True)


async def capture_monitor(out: Path | None) -> str:
    from llmops_tui.ui.app import LlmopsApp
    from llmops_tui.ui.tabs.monitor import MonitorTab

    app = LlmopsApp(initial_tab="monitor")
    async with app.run_test(size=(120, 40)) as pilot:
        tab = app.query_one(MonitorTab)
        for _ in range(100):
            await pilot.pause(0.1)
            if tab.ticks >= 2:
                break
        if out:
            app.save_screenshot(str(out / "monitor-tab.svg"))
        lines = []
        for widget in tab.query("*"):
            render = getattr(widget, "render", None)
            if widget.__class__.__name__ in ("Pane", "Static") and render:
                try:
                    lines.append(str(render()))
                except Exception:
                    pass
        return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=10.0)
    args = ap.parse_args()
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else None
    state = Path(tempfile.mkdtemp(prefix="llmops-gpu-check-"))
    os.environ["LLMOPS_STATE_DIR"] = str(state / "state")
    model = state / "model"
    model.mkdir()
    ok = True
    sup = Supervisor()
    profile = Profile(
        name="gpu-fake",
        engine="vllm",
        model=str(model),
        served_model_name="fake-model",
        port=free_port(),
        python=sys.executable,
        gpus="0",
        env={
            "PYTHONPATH": str(ROOT / "tests/fixtures/fake_engine"),
            "FAKE_GPU_GIB": str(args.gib),
            "FAKE_LOAD_S": "0.5",
        },
    )
    t0 = time.monotonic()
    rec = sup.up(profile)
    rec = sup.wait_ready(rec.name, timeout=120)
    show("ready", {"phase": rec.phase, "s": round(time.monotonic() - t0, 2)})
    pids = set(sup.process_pids(rec.name))
    reader = NvmlReader()
    owners = pid_owners(running_engine_targets())
    seen = None
    for _ in range(60):  # the allocation takes a moment after readiness
        snap = reader.read(owners)
        procs = [p for g in snap.gpus for p in g.processes]
        mine = [p for p in procs if p.pid in pids]
        if mine and mine[0].used_bytes and mine[0].used_bytes >= args.gib * 0.9 * 1024**3:
            seen = mine[0]
            break
        time.sleep(1)
    show(
        "nvml", {"available": snap.available, "reason": snap.reason, "driver": snap.driver_version}
    )
    show(
        "gpus",
        [
            {
                "index": g.index,
                "name": g.name,
                "memory_used": g.memory_used,
                "memory_total": g.memory_total,
                "util": g.util_percent,
                "power_w": g.power_w,
                "power_limit_w": g.power_limit_w,
                "temp_c": g.temperature_c,
                "error": g.error,
                "unsupported": g.unsupported,
                "processes": [p.__dict__ for p in g.processes],
            }
            for g in snap.gpus
        ],
    )
    if seen is None or seen.engine != rec.name:
        ok = False
        show("FAIL", f"engine process with {args.gib} GiB not mapped to {rec.name}")
    else:
        show(
            "mapped",
            {
                "pid": seen.pid,
                "engine": seen.engine,
                "used_gib": round(seen.used_bytes / 1024**3, 2),
            },
        )
    text = asyncio.run(capture_monitor(out))
    print("===== Monitor tab text =====\n" + text, flush=True)
    if rec.name not in text:
        ok = False
        show("FAIL", "engine name not in the Monitor tab")
    t1 = time.monotonic()
    done = sup.down(rec.name)
    show(
        "down",
        {
            "phase": done.phase,
            "s": round(time.monotonic() - t1, 2),
            "gpu_memory_released": done.gpu_memory_released,
            "left": sup.process_pids(rec.name),
        },
    )
    if done.gpu_memory_released is not True or sup.process_pids(rec.name):
        ok = False
        show("FAIL", "GPU memory not confirmed released or processes left")
    after = reader.read({})
    show(
        "after",
        [
            {"index": g.index, "memory_used": g.memory_used, "processes": len(g.processes)}
            for g in after.gpus
        ],
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
