"""History keys: space marks runs, c compares them; fewer than 2 marked asks for more."""

from __future__ import annotations

from textual.widgets import DataTable
from ui_helpers import settle

from llmops_tui.bench.store import ResultStore
from llmops_tui.config import paths
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.loadtest import LoadTestTab


def _save(model: str) -> int:
    return ResultStore(paths().results_db).save(
        target={"model": model},
        workload={"endpoint": "chat", "input_len": 8, "output_len": 4},
        load={"max_concurrency": 1},
        summary={"completed": 1, "failed": 0, "ttft_ms": {"p50": 12.0}},
        requests=[],
    )


async def test_space_marks_and_c_compares():
    a, b = _save("alpha"), _save("beta")
    app = LlmopsApp(initial_tab="loadtest")
    async with app.run_test(size=(130, 48)) as pilot:
        tab = app.query_one(LoadTestTab)
        tab.query_one("#lt-tabs").active = "lt-history"
        await pilot.pause()
        await settle(app)
        await pilot.pause()
        runs = tab.query_one("#lt-runs", DataTable)
        assert runs.row_count == 2
        runs.focus()
        await pilot.press("space")
        await pilot.press("c")
        help_text = str(tab.query_one("#lt-history-help").render())
        assert "Mark 2 or more runs" in help_text
        await pilot.press("down", "space", "c")
        await pilot.pause()
        assert sorted(tab._marked) == [a, b]
        # the marks are visible: "●" in a column wide enough to show it
        assert [runs.get_cell_at((i, 0)) for i in range(2)] == ["●", "●"]
        assert runs.ordered_columns[0].get_render_width(runs) >= 1 + 2 * runs.cell_padding
        compare = tab.query_one("#lt-compare", DataTable)
        assert [str(c.label) for c in compare.ordered_columns] == ["", f"#{b}", f"#{a}"]
        first_col = [str(compare.get_row_at(i)[0]) for i in range(compare.row_count)]
        assert "TTFT p50 (ms)" in first_col
        model_row = compare.get_row_at(first_col.index("model"))
        assert list(model_row[1:]) == ["beta", "alpha"]
