"""Headless Pilot run of the Engines tab's swap key: w on FROM, pick TO, until both rows change.

    python benchmarks/tui_swap_capture.py FROM TO [--svg OUT.svg]

Prints the Engines rows before and after, the notifications, and the seconds from the key to
'swap done' (with two resident sleep-mode engines: a sleep and a wake). Exit 1 if the swap did
not finish in --timeout seconds or failed. Used by benchmarks/gpu_real_vllm.py on the H200.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rows(table) -> list[str]:
    return ["  ".join(str(c) for c in table.get_row(key)) for key in table.rows]


async def run(src: str, dst: str, svg: Path | None, timeout: float) -> int:
    from textual.widgets import DataTable

    from llmops_tui.ui.app import LlmopsApp

    app = LlmopsApp(initial_tab="engines", engines_poll_s=0.2)
    async with app.run_test(size=(120, 36)) as pilot:
        table = app.query_one("#engine-list", DataTable)
        end = time.monotonic() + timeout
        while src not in [str(k.value) for k in table.rows]:
            if time.monotonic() > end:
                print(f"{src} never showed in the Engines tab", file=sys.stderr)
                return 1
            await pilot.pause(0.1)
        print("before:", *rows(table), sep="\n  ")
        table.move_cursor(row=table.get_row_index(src))
        await pilot.press("w")
        while type(app.screen).__name__ != "ProfilePicker":
            await pilot.pause(0.02)
        t0 = time.monotonic()
        app.screen.dismiss(dst)
        done = None
        while done is None and time.monotonic() < end:
            notes = [n.message for n in app._notifications]
            done = next((m for m in notes if m.startswith("swap done")), None)
            failed = [n for n in app._notifications if n.severity == "error"]
            if failed:
                print("swap failed:", failed[0].title, failed[0].message, file=sys.stderr)
                return 1
            await pilot.pause(0.01)
        took = time.monotonic() - t0
        await pilot.pause(0.5)  # the next poll shows both rows
        print("after:", *rows(table), sep="\n  ")
        print("notifications:", *[n.message for n in app._notifications], sep="\n  ")
        if svg:
            svg.write_text(app.export_screenshot())
            print(f"screenshot: {svg}")
        if done is None:
            print(f"no 'swap done' in {timeout:.0f} s", file=sys.stderr)
            return 1
        print(f"TUI swap {src} → {dst}: {took:.2f} s from the pick to '{done}'")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--svg", type=Path)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    return asyncio.run(run(args.src, args.dst, args.svg, args.timeout))


if __name__ == "__main__":
    raise SystemExit(main())
