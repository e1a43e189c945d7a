"""Measure (real vLLM CPU, tiny model):
1. from vLLM's own "Application startup complete." line to our `ready`
   (a separate thread tails engine.log every 2 ms and stamps the line's arrival);
2. from calling `down` to every process of the engine gone (polled independently
   every 5 ms from a snapshot of process_pids taken just before).

  .venv/bin/python benchmarks/engine_lifecycle.py --runs 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tiny import add_args, state_dir, tiny_profile

from llmops_tui.supervisor.core import Supervisor

LINE = "Application startup complete."


def watch_line(path: Path, found: dict, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            if LINE in path.read_text(errors="replace"):
                found["t"] = time.time()
                return
        except FileNotFoundError:
            pass
        time.sleep(0.002)


def gone_time(pids: list[int], t0: float, out: dict) -> None:
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    while True:
        left = [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not left:
            out["t"] = time.time() - t0
            return
        time.sleep(0.005)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_args(ap)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sup = Supervisor(state_dir(args))
    line_to_ready, down_total, all_gone, startup = [], [], [], []
    for i in range(args.runs):
        profile = tiny_profile(args)
        log = sup.engine_dir(profile.name) / "engine.log"
        found: dict = {}
        stop = threading.Event()
        rec = sup.up(profile)
        t = threading.Thread(target=watch_line, args=(log, found, stop), daemon=True)
        t.start()
        rec = sup.wait_ready(rec.name, timeout=600)
        stop.set()
        t.join()
        startup.append(rec.ready_at - rec.started_at)
        if "t" in found:
            line_to_ready.append((rec.ready_at - found["t"]) * 1000)
        pids = sup.process_pids(rec.name)
        gone: dict = {}
        t0 = time.time()
        g = threading.Thread(target=gone_time, args=(pids, t0, gone), daemon=True)
        g.start()
        sup.down(rec.name)
        down_total.append((time.time() - t0) * 1000)
        g.join(timeout=60)
        all_gone.append(gone.get("t", float("nan")) * 1000)
        print(
            f"run {i + 1}: startup {startup[-1]:.1f} s; 'Application startup complete.' → ready "
            f"{line_to_ready[-1] if line_to_ready else float('nan'):.0f} ms; down → all "
            f"{len(pids)} processes gone {all_gone[-1]:.0f} ms (down() returned after "
            f"{down_total[-1]:.0f} ms, incl. port and GPU checks)",
            flush=True,
        )
    print(
        f"median over {args.runs}: line→ready {statistics.median(line_to_ready):.0f} ms, "
        f"down→gone {statistics.median(all_gone):.0f} ms, down() {statistics.median(down_total):.0f} ms, "
        f"startup {statistics.median(startup):.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
