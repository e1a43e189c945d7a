"""Headless Pilot capture of the real app's Monitor tab: prints every pane's text.

    .venv/bin/python benchmarks/monitor_capture.py [--svg OUT.svg] [--ticks 3]

Runs ``LlmopsApp(initial_tab="monitor")`` without a terminal, waits for the
monitor to deliver a few snapshots (so sparklines have points), prints the GPU
(or host) and engine panes as text, and optionally saves an SVG screenshot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


async def capture(ticks: int, svg: Path | None, size: tuple[int, int]) -> int:
    from llmops_tui.ui.app import LlmopsApp
    from llmops_tui.ui.tabs.monitor import MonitorTab, Pane

    app = LlmopsApp(initial_tab="monitor")
    async with app.run_test(size=size) as pilot:
        tab = app.query_one(MonitorTab)
        for _ in range(int((ticks + 5) / 0.1)):
            if tab.ticks >= ticks:
                break
            await pilot.pause(0.1)
        await pilot.pause()
        if tab.ticks < ticks:
            print(f"monitor delivered only {tab.ticks} snapshot(s)", file=sys.stderr)
            return 1
        for pane in app.query(Pane):
            print(f"── {pane.border_title} ──")
            print(str(pane.render()))
        if svg:
            svg.write_text(app.export_screenshot())
            print(f"screenshot: {svg}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ticks", type=int, default=3)
    ap.add_argument("--svg", type=Path)
    ap.add_argument("--width", type=int, default=140)
    ap.add_argument("--height", type=int, default=60)
    args = ap.parse_args()
    return asyncio.run(capture(args.ticks, args.svg, (args.width, args.height)))


if __name__ == "__main__":
    raise SystemExit(main())
