"""Alt+N switches tabs while typing, with the bytes a terminal sends (tmux, xterm, SSH).

The keys go through Textual's own terminal parser (``XTermParser``, what the Linux driver
feeds stdin to) and then to the app as the driver would post them: ``pilot.press("alt+1")``
alone would skip the step that used to turn ESC 1 into "¡".
"""

from __future__ import annotations

from textual import events
from textual._xterm_parser import XTermParser
from textual.widgets import Input, TabbedContent

from llmops_tui.ui.app import LlmopsApp


def terminal_keys(raw: str) -> list[events.Key]:
    """The key events Textual's parser makes of raw terminal input."""
    parser = XTermParser()
    # "" is the end of the input: the parser stops waiting for the rest of an escape
    # sequence, as it does after its escape delay in a real terminal.
    tokens = [*parser.feed(raw), *parser.feed("")]
    return [t for t in tokens if isinstance(t, events.Key)]


async def send_raw(app: LlmopsApp, pilot, raw: str) -> None:
    for key in terminal_keys(raw):
        key.set_sender(app)
        app._driver.send_message(key)
    await pilot.pause()


async def wait_settled(app: LlmopsApp, pilot) -> None:
    from llmops_tui.ui.tabs.loadtest import LoadTestTab

    for _ in range(100):
        await pilot.pause()
        if app.query_one(LoadTestTab).form_ready and app.focused is not None:
            break
    await pilot.pause()


def test_esc_digit_is_alt_digit_at_once():
    LlmopsApp()  # the app's start-up sets the parser's table
    assert [k.key for k in terminal_keys("\x1b1")] == ["alt+1"]
    assert [k.key for k in terminal_keys("\x1b5")] == ["alt+5"]
    # At once: not after the parser's escape delay, waiting for more of a sequence.
    keys = list(XTermParser().feed("\x1b3"))
    assert [(k.key, k.character) for k in keys] == [("alt+3", None)]  # types nothing
    assert [k.key for k in terminal_keys("\x1ba")] == ["alt+a"]  # unchanged
    assert [k.key for k in terminal_keys("3")] == ["3"]


async def test_alt_digit_from_terminal_switches_tab_while_typing_in_chat_prompt():
    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tabs = app.query_one(TabbedContent)
        for raw, tab in (("\x1b1", "models"), ("\x1b3", "monitor"), ("\x1b5", "loadtest")):
            await pilot.press("4")
            assert tabs.active == "chat"
            prompt = app.query_one("#prompt", Input)
            assert app.focused is prompt
            prompt.value = ""
            await pilot.press("h", "i", "3")  # digits type into the prompt
            assert prompt.value == "hi3" and tabs.active == "chat"
            await send_raw(app, pilot, raw)
            assert tabs.active == tab, raw
            assert prompt.value == "hi3"  # nothing typed: no "¡", "£", "∞", no digit
        # Out of a text field the plain digits still switch. First let the Load test tab
        # finish taking the focus (Widget.focus is deferred; its form mounts after the tab):
        # a focus landing after set_focus(None) put "2" into the target Select.
        await wait_settled(app, pilot)
        app.screen.set_focus(None)
        await pilot.press("2")
        assert tabs.active == "engines"
        await send_raw(app, pilot, "4")
        assert tabs.active == "chat"
