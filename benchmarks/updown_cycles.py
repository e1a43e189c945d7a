"""N up/down cycles of the real vLLM CPU engine; prints the count of leftover processes.

A process counts as left over if it was seen in any engine's tree (process_pids while
ready: API server, EngineCore, workers, helpers) or its command line mentions the model
folder, and it is still alive at the end.

    .venv/bin/python benchmarks/updown_cycles.py --cycles 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tiny import add_args, state_dir, tiny_profile

from llmops_tui.supervisor.core import Supervisor


def live(pids: set[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def mentioning(path: str) -> set[int]:
    out = set()
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(path in a for a in p.info["cmdline"] or []):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add_args(ap)
    ap.add_argument("--cycles", type=int, default=20)
    args = ap.parse_args()
    sup = Supervisor(state_dir(args))
    seen: set[int] = set()
    t_start = time.time()
    for i in range(args.cycles):
        profile = tiny_profile(args)
        rec = sup.up(profile, wait=True, timeout=600)
        pids = set(sup.process_pids(rec.name))
        seen |= pids
        t0 = time.time()
        sup.down(rec.name)
        print(
            f"cycle {i + 1}/{args.cycles}: ready in {rec.ready_at - rec.started_at:.1f} s, "
            f"{len(pids)} processes, down {time.time() - t0:.2f} s, "
            f"left so far {len(live(seen))}",
            flush=True,
        )
    me = psutil.Process()
    ours = {me.pid, *(p.pid for p in me.parents())}  # e.g. a `timeout` wrapper naming the model
    leftover = sorted(set(live(seen)) | (mentioning(args.model) - ours))
    print(
        f"{args.cycles} cycles in {time.time() - t_start:.0f} s; "
        f"{len(seen)} engine processes seen; leftover processes: {len(leftover)} {leftover}"
    )
    return 1 if leftover else 0


if __name__ == "__main__":
    raise SystemExit(main())
