"""At 100×30 nothing a new user reads is cut, and a checkbox says its state without
colour (``▐X▌`` on, ``▐ ▌`` off, in a plain capture)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input, Label, TabbedContent

from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.toggles import MarkedCheckbox, MarkedSelectionList


class Boxes(App):
    def compose(self) -> ComposeResult:
        yield MarkedCheckbox("on", value=True, id="on")
        yield MarkedCheckbox("off", id="off")
        sel = MarkedSelectionList[str](("alpha", "a"), ("beta", "b", True), id="sel")
        yield sel


async def until(predicate, pilot, timeout: float = 10.0) -> None:
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def plain_lines(app) -> list[str]:
    return ["".join(s.text for s in strip) for strip in app.screen._compositor.render_strips()]


async def test_checkbox_state_reads_without_colour():
    app = Boxes()
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        text = "\n".join(plain_lines(app))
        assert "▐X▌ on" in text and "▐ ▌ off" in text
        assert "▐ ▌ alpha" in text and "▐X▌ beta" in text
        await pilot.click("#off")
        await pilot.pause()
        assert "▐X▌ off" in "\n".join(plain_lines(app))


async def test_chat_url_and_bakeoff_labels_fit_at_100_columns():
    app = LlmopsApp(initial_tab="chat", engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.query("#target-a .target-url"), pilot)
        url = app.query_one("#target-a .target-url", Input)
        await until(lambda: url.size.width > 0, pilot)
        # a loopback base URL with a 5-digit port shows whole (border and padding: 4)
        assert url.size.width - 4 >= len("http://127.0.0.1:33221"), url.size
        app.action_show_tab("loadtest")
        await pilot.pause(0.3)
        await until(lambda: app.query("#lt-tabs"), pilot)
        from llmops_tui.ui.tabs.loadtest import LoadTestTab

        app.query_one(LoadTestTab).action_show_pane("lt-bakeoff")
        await until(lambda: app.query_one("#lt-tabs", TabbedContent).active == "lt-bakeoff", pilot)
        labels = lambda: list(app.query("#lt-bakeoff-panel Label").results(Label))  # noqa: E731

        def ready_label() -> list[Label]:
            return [x for x in labels() if "Ready" in str(x.render()) and x.size.width > 0]

        await until(ready_label, pilot)
        for label in [x for x in labels() if x.size.width > 0]:
            text = str(label.render())
            # whole, and not clipped by the field column it sits in
            shown = label.region.intersection(label.parent.region)
            assert shown.width >= len(text), (text, label.region, label.parent.region)


async def test_results_of_a_finished_run_are_in_view_at_100x30():
    from test_loadtest_snapshots import form_ready, summary, tab

    app = LlmopsApp(initial_tab="loadtest", engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await form_ready(pilot)
        tab(pilot).show_summary(summary(), run_id=1)
        await pilot.pause()
        await pilot.pause()
        table = app.query_one("#lt-results")
        message = app.query_one("#lt-message")
        screen_rows = range(0, 29)  # above the footer
        assert message.region.y in screen_rows, message.region
        last_row = table.region.y + table.region.height - 1
        assert table.region.height >= 5 and last_row in screen_rows, (table.region, message.region)


async def test_history_columns_fit_at_100_columns():
    from test_loadtest_snapshots import _store_two_runs

    _store_two_runs()
    app = LlmopsApp(initial_tab="loadtest", engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("ctrl+t")
        await pilot.pause(0.5)
        runs = app.query_one("#lt-runs")
        assert runs.row_count == 2
        # every column, goodput last, within the table's width (no horizontal scroll)
        assert runs.virtual_size.width <= runs.scrollable_content_region.width, (
            runs.virtual_size,
            runs.scrollable_content_region,
        )
