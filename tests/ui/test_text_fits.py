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
        await pilot.pause(0.5)
        url = app.query_one("#target-a .target-url", Input)
        # a loopback base URL with a 5-digit port shows whole (border and padding: 4)
        assert url.size.width - 4 >= len("http://127.0.0.1:33221"), url.size
        app.action_show_tab("loadtest")
        await pilot.pause(0.3)
        app.query_one("#lt-tabs", TabbedContent).active = "lt-bakeoff"
        await pilot.pause(0.3)
        for label in app.query("#lt-bakeoff-panel Label").results(Label):
            text = str(label.render())
            assert label.size.width >= len(text), (text, label.size)
