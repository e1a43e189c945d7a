"""The Load test tab driving real runs against benchmarks/sse_server.py: Start to the final table,
Stop mid-run (kept, partial), and the run appears in History."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

from textual.widgets import DataTable

from llmops_tui.bench.store import ResultStore
from llmops_tui.config import paths
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.loadtest import LoadTestTab

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def sse_server(*args: str):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks/sse_server.py"), "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        m = re.search(r"http://\S+", proc.stdout.readline())
        assert m
        yield m.group(0)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


async def fill(tab: LoadTestTab, url: str, num: str, out: str) -> None:
    # the form is mounted when the tab is first shown; wait until it is laid out too
    await wait_until(lambda: tab.form_ready and tab.form.size.height > 0)
    await asyncio.sleep(0.1)
    tab.query_one("#lt-base-url").value = url
    tab.query_one("#lt-model").value = "zero-cost"
    tab.query_one("#lt-num").value = num
    tab.query_one("#lt-conc").value = "4"
    tab.query_one("#lt-in").value = "8"
    tab.query_one("#lt-out").value = out


async def wait_until(pred, timeout=30.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.1)


async def test_start_runs_to_the_final_table_and_history():
    with sse_server("--ttft-ms", "5", "--itl-ms", "1") as url:
        app = LlmopsApp(initial_tab="loadtest")
        async with app.run_test(size=(130, 48)) as pilot:
            tab = app.query_one(LoadTestTab)
            await fill(tab, url, "20", "10")
            await pilot.click("#lt-start")
            await wait_until(lambda: tab.query_one("#lt-results", DataTable).row_count == 4)
            await pilot.pause()
            msg = str(tab.query_one("#lt-message").render())
            assert "Done · stored as run #1: 20 completed, 0 failed" in msg
            assert "engine: KV peak" in msg and "no GPU figures" in msg  # the engine's side
            assert str(tab.query_one("#lt-running-label").render()).startswith("Running ")
            assert not tab.query_one("#lt-start").disabled
            assert sum(tab._live.throughput()) == 200  # 20 requests × 10 tokens, binned per second
            await wait_until(lambda: tab.query_one("#lt-runs", DataTable).row_count == 1)
    run = ResultStore(paths().results_db).get(1)
    assert run.status == "complete" and run.summary["completed"] == 20
    assert run.summary["telemetry"]["engine_generation_tokens"] == 200  # the server's counter
    assert len(ResultStore(paths().results_db).telemetry(1)) >= 2


async def test_stop_keeps_a_partial_run():
    with sse_server("--itl-ms", "5") as url:
        app = LlmopsApp(initial_tab="loadtest")
        async with app.run_test(size=(130, 48)) as pilot:
            tab = app.query_one(LoadTestTab)
            await fill(tab, url, "5000", "40")
            await pilot.click("#lt-start")
            await wait_until(lambda: tab._live is not None and tab._live.done >= 8)
            await pilot.click("#lt-stop")
            await wait_until(lambda: tab.query_one("#lt-results", DataTable).row_count == 4)
            msg = str(tab.query_one("#lt-message").render())
            assert msg.startswith("Partial run (stopped by the user)")
    run = ResultStore(paths().results_db).list_runs()[0]
    assert run.partial and 8 <= run.summary["completed"] < 5000


async def test_sweep_fills_its_table_step_by_step_and_answers():
    # server-paced steps (TTFT 20 ms, 5 ms a token): throughput doubles with concurrency even on
    # a busy box, so no step reads as saturation
    with sse_server("--ttft-ms", "20", "--itl-ms", "5") as url:
        app = LlmopsApp(initial_tab="loadtest")
        async with app.run_test(size=(130, 48)) as pilot:
            tab = app.query_one(LoadTestTab)
            await fill(tab, url, "8", "10")  # concurrency 4: steps 1, 2, 4
            tab.query_one("#lt-slo-ttft").value = "1000"
            # Live draws before the last step's row: the progress ticker's, not the end's.
            drawn_running: list[int] = []
            show_live = tab.show_live
            table = tab.query_one("#lt-sweep", DataTable)

            def counting_show_live(view):
                if tab._bench_running and table.row_count < 3:
                    drawn_running.append(view.done)
                show_live(view)

            tab.show_live = counting_show_live
            await pilot.click("#lt-sweep-btn")
            table = tab.query_one("#lt-sweep", DataTable)
            await wait_until(lambda: not tab._bench_running and table.row_count == 3)
            assert drawn_running, "no progress was drawn while the sweep ran"
            msg = str(tab.query_one("#lt-message").render())
            assert msg.startswith("Sweep: highest load meeting TTFT p99 ≤ 1000 ms: concurrency 4")
            assert "steps: 1=concurrency 1, 2=concurrency 2, 3=concurrency 4" in msg
    runs = ResultStore(paths().results_db).list_runs()
    assert sorted(r.load["concurrency"] for r in runs) == [1, 2, 4]
