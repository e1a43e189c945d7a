"""The Load test tab with a results.db that cannot take the run: the run is kept (summary shown,
the kept file and the fix named), History says what is wrong and how to fix it."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from results_faults import not_a_database, sse_server
from rich.text import Text
from textual.widgets import DataTable, Static

from llmops_tui.cli import main
from llmops_tui.config import paths
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.loadtest import LoadTestTab


async def wait_until(pred, timeout=30.0, what=""):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, f"timed out waiting for {what or pred}"
        await asyncio.sleep(0.1)


async def test_a_run_the_database_cannot_take_is_kept_and_shown(tmp_path, monkeypatch):
    # a data folder whose name looks like markup: the messages naming it are shown as written
    monkeypatch.setenv("LLMOPS_DATA_DIR", str(tmp_path / "data[/x]"))
    db = paths().results_db
    db.parent.mkdir(parents=True, exist_ok=True)
    not_a_database(db)
    with sse_server("--ttft-ms", "5", "--itl-ms", "1") as url:
        app = LlmopsApp(initial_tab="loadtest")
        async with app.run_test(size=(130, 48)) as pilot:
            tab = app.query_one(LoadTestTab)
            await wait_until(lambda: tab.form_ready and tab.form.size.height > 0)
            await asyncio.sleep(0.1)
            for wid, value in (
                ("#lt-base-url", url),
                ("#lt-model", "zero-cost"),
                ("#lt-num", "20"),
                ("#lt-conc", "4"),
                ("#lt-in", "8"),
                ("#lt-out", "10"),
            ):
                tab.query_one(wid).value = value
            await pilot.click("#lt-start")
            await wait_until(lambda: tab.query_one("#lt-results", DataTable).row_count == 4)
            await pilot.pause()
            msg = str(tab.query_one("#lt-message").render())
            assert "Done: 20 completed, 0 failed" in msg
            assert "NOT stored in the results database" in msg and "file is not a database" in msg
            kept = Path(re.search(r"the run is kept in (\S+) \(owner-only\)", msg).group(1))
            assert "mv -- " in msg
            assert json.loads(kept.read_text())["summary"]["completed"] == 20
            # History: the same diagnosis, no traceback, the app still running
            help_ = tab.query_one("#lt-history-help", Static)
            await wait_until(lambda: "cannot read results" in str(help_.render()))
            text = str(help_.render())
            assert str(db) in text and "move it aside" in text and "mv -- " in text
            assert f"1 run(s) not in the database, kept in {kept.parent}" in text
            # the bad database moved aside and the run imported: History shows it, help as usual
            db.rename(db.with_name("results.db.bad"))
            assert main(["bench", "import", str(kept)]) == 0
            tab.load_runs()
            await wait_until(lambda: tab.query_one("#lt-runs", DataTable).row_count == 1)
            await pilot.pause()
            assert str(help_.render()).startswith("Space marks a run")
            assert app.is_running


async def test_history_shows_model_names_with_brackets_as_typed():
    from llmops_tui.bench.store import ResultStore

    store = ResultStore(paths().results_db)
    for _ in range(2):
        store.save(
            target={"model": "m[/x]"},
            workload={"endpoint": "completions", "input_len": 8, "output_len": 8},
            load={"max_concurrency": 1},
            summary={"completed": 1, "failed": 0},
            requests=[],
        )
    app = LlmopsApp(initial_tab="loadtest")
    async with app.run_test(size=(130, 48)) as pilot:
        tab = app.query_one(LoadTestTab)
        runs = tab.query_one("#lt-runs", DataTable)
        await wait_until(lambda: runs.row_count == 2)
        shown = [Text.from_markup(str(c)).plain for c in runs.get_row("1")]  # as rendered
        assert "m[/x]" in shown
        tab.mark_runs([1, 2])
        tab.action_compare()
        await pilot.pause()
        compare = tab.query_one("#lt-compare", DataTable)
        cells = [str(c.label) for c in compare.ordered_columns] + [
            Text.from_markup(str(c)).plain
            for i in range(compare.row_count)
            for c in compare.get_row_at(i)
        ]
        assert "m[/x]" in cells
        assert app.is_running
