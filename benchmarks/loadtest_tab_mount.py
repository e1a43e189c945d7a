"""Time to mount the Load test tab alone (its form, History, Bake-off pane), headless 100×30.

    python benchmarks/loadtest_tab_mount.py [--runs 15]

In one process: each run starts a fresh one-tab App and stops the clock when the tab's
widgets are all mounted (the app's first refresh after compose). Prints the median, and the
process CPU time per run. Run it from another checkout (cd there; the current directory
comes first on sys.path) to compare versions of the tab on the same box and load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())

from textual.app import App, ComposeResult

from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.loadtest import LoadTestTab


class OneTab(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def compose(self) -> ComposeResult:
        yield LoadTestTab()


async def one_run() -> tuple[float, float, int]:
    app = OneTab()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        widgets = len(list(app.query("*")))
    return wall * 1e3, cpu * 1e3, widgets


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    asyncio.run(one_run())  # warm imports
    walls, cpus = [], []
    for _ in range(args.runs):
        wall, cpu, widgets = asyncio.run(one_run())
        walls.append(wall)
        cpus.append(cpu)
    print(
        f"Load test tab mounted: median {statistics.median(walls):.0f} ms wall, "
        f"{statistics.median(cpus):.0f} ms CPU over {args.runs} runs ({widgets} widgets); "
        f"load average {os.getloadavg()[0]:.2f}; from {LoadTestTab.__module__} in "
        f"{sys.modules[LoadTestTab.__module__].__file__}"
    )


if __name__ == "__main__":
    main()
