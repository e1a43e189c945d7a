"""Throughput of the engine log view: N lines/s appended to a log file for D seconds.

    python benchmarks/logview.py [--rate 5000] [--seconds 5] [--size 100x30]

A writer thread appends lines to a file at the given rate (in 10 ms slices, like an engine
printing a burst); the app shows that file in EngineLogScreen (the real LogView: a worker
thread follows the file and hands batches to a Log widget capped at 20,000 lines), headless.
Measured on the UI's event loop: the delay of a 10 ms ticker (p50/p99/max: how late the UI
would answer a key), and how far the view lags behind the writer when it stops.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

from textual.app import App

from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.engines_log import EngineLogScreen, LogView

LINE = (
    "INFO 11-25 04:12:{s:02d} [loggers.py:123] Engine 000: Avg prompt throughput: 1234.5 "
    "tokens/s, Avg generation throughput: 567.8 tokens/s, Running: 32 reqs, line {n}"
)


def writer(path: Path, rate: int, seconds: float, done: threading.Event, count: list[int]) -> None:
    slice_s = 0.01
    per_slice = max(1, int(rate * slice_s))
    start = time.perf_counter()
    n = 0
    with path.open("a", buffering=1 << 16) as f:
        while (elapsed := time.perf_counter() - start) < seconds:
            target = int(elapsed / slice_s + 1) * per_slice
            f.writelines(LINE.format(s=n % 60, n=i) + "\n" for i in range(n, target))
            f.flush()
            n = target
            time.sleep(max(0.0, start + (target / per_slice) * slice_s - time.perf_counter()))
    count.append(n)
    done.set()


class Bench(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def __init__(self, path: Path, rate: int, seconds: float) -> None:
        super().__init__()
        self.path, self.rate, self.seconds = path, rate, seconds
        self.delays: list[float] = []
        self.result: dict = {}

    async def on_mount(self) -> None:
        rec = SimpleNamespace(
            name="bench",
            engine="vllm",
            phase="ready",
            host="127.0.0.1",
            port=8000,
            progress=None,
            ready_at=None,
            started_at=time.time(),
            exit_code=None,
            root_cause=None,
            log_path=str(self.path),
        )
        await self.push_screen(EngineLogScreen(rec, None))
        self.run_worker(self.measure(), exclusive=False)

    async def measure(self) -> None:
        view = self.screen.query_one(LogView)
        done, count = threading.Event(), []
        t = threading.Thread(
            target=writer, args=(self.path, self.rate, self.seconds, done, count), daemon=True
        )
        t.start()
        while not done.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.01)
            self.delays.append(time.perf_counter() - t0 - 0.01)
        written = count[0]
        behind_at_stop = written - view.lines_received
        t_stop = time.perf_counter()
        while view.lines_received < written and time.perf_counter() - t_stop < 30:
            await asyncio.sleep(0.01)
        self.result = dict(
            written=written,
            received=view.lines_received,
            behind_at_stop=behind_at_stop,
            catch_up_s=time.perf_counter() - t_stop,
        )
        self.exit()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--size", default="100x30")
    args = ap.parse_args()
    w, h = (int(x) for x in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench" / "engine.log"
        path.parent.mkdir()
        path.write_text("INFO start\n")
        app = Bench(path, args.rate, args.seconds)
        app.run(headless=True, size=(w, h))
    d = sorted(x * 1000 for x in app.delays)
    r = app.result
    print(
        f"{args.rate} lines/s for {args.seconds:g} s at {w}x{h}: wrote {r['written']:,}, "
        f"shown {r['received']:,}; behind when the writer stopped: {r['behind_at_stop']:,} "
        f"lines, caught up in {r['catch_up_s'] * 1000:.0f} ms"
    )
    print(
        f"event-loop delay of a 10 ms ticker: p50 {statistics.median(d):.1f} ms, "
        f"p99 {d[int(len(d) * 0.99) - 1]:.1f} ms, max {d[-1]:.1f} ms over {len(d)} ticks"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
