"""Cold start to first paint of the TUI, all tabs mounted.

    python benchmarks/startup.py [--runs 10]

Each run is a fresh interpreter: the clock starts in this parent just before the child
process is spawned and stops when the child reports Textual's Ready event (the first full
paint), headless at 100×30. (psutil's create_time is not used: its boot-time base is
rounded to whole seconds.) Prints each run and the
median; the target is ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

PROBE = r"""
import sys
from llmops_tui.ui.app import LlmopsApp

from llmops_tui.ui.tabs.chat import ChatTab
from llmops_tui.ui.tabs.engines import EnginesTab
from llmops_tui.ui.tabs.loadtest import LoadTestTab
from llmops_tui.ui.tabs.models import ModelsTab
from llmops_tui.ui.tabs.monitor import MonitorTab

TABS = (ModelsTab, EnginesTab, MonitorTab, ChatTab, LoadTestTab)

class Probe(LlmopsApp):
    def on_ready(self) -> None:
        sys.__stdout__.write("READY\n")
        sys.__stdout__.flush()
        self.set_interval(0.005, self._all_mounted)

    def _all_mounted(self) -> None:
        if all(self.query(t) for t in TABS):
            sys.__stdout__.write("MOUNTED\n")
            sys.__stdout__.flush()
            self.exit()

Probe().run(headless=True, size=(100, 30))
"""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    times, cpus, mounted = [], [], []
    load_before = os.getloadavg()[0]
    for i in range(args.runs):
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", PROBE], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        line = proc.stdout.readline()
        t = time.perf_counter() - t0
        if proc.stdout.readline().strip() == "MOUNTED":
            mounted.append(time.perf_counter() - t0)
        proc.wait(timeout=60)
        if line.strip() != "READY":
            print(proc.stderr.read(), file=sys.stderr)
            return 1
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU the child used in all (to its exit, a few ms past the paint): less sensitive
        # than the wall clock to other work on a busy box.
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        times.append(t)
        cpus.append(cpu)
        print(f"run {i + 1}: {t * 1000:.0f} ms (child CPU {cpu * 1000:.0f} ms)")
    print(
        f"median cold start to first paint: {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}) over {len(times)} runs; "
        f"all five tabs mounted: median {statistics.median(mounted or [0]) * 1000:.0f} ms; "
        f"child CPU median {statistics.median(cpus) * 1000:.0f} ms; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
