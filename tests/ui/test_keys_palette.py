"""Keys a new user can find: the Chat footer names Alt+1…5 (digits type into the prompt),
Ctrl+T walks the Load test's sub-tabs, and the palette holds every action of every tab."""

from __future__ import annotations

from textual.widgets import TabbedContent
from textual.widgets._footer import FooterKey

from llmops_tui.ui.app import LlmopsApp


def footer_keys(app) -> list[str]:
    return [str(k.key_display) for k in app.screen.query(FooterKey)]


async def test_chat_footer_names_alt_digits_not_digits():
    app = LlmopsApp(initial_tab="chat", engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        keys = footer_keys(app)
        assert "Alt+1…5" in keys and "1…5" not in keys, keys
        await pilot.press("5")  # types into the prompt, does not switch
        assert app.query_one("#tabs", TabbedContent).active == "chat"
        await pilot.press("alt+5")
        assert app.query_one("#tabs", TabbedContent).active == "loadtest"


async def test_ctrl_t_walks_load_test_sub_tabs():
    app = LlmopsApp(initial_tab="loadtest", engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.5)
        inner = app.query_one("#lt-tabs", TabbedContent)
        seen = [inner.active]
        for _ in range(3):
            await pilot.press("ctrl+t")
            await pilot.pause(0.1)
            seen.append(inner.active)
        assert seen == ["lt-run", "lt-history", "lt-bakeoff", "lt-run"]


async def test_palette_lists_every_tab_action():
    app = LlmopsApp(engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(1.0)
        titles = [t.lower() for t, _, _ in app.palette_commands()]
        for word in (
            "history",
            "compare",
            "start",
            "stop",
            "bake-off",
            "launch",
            "export",
            "download",
            "demo",
        ):
            assert any(word in t for t in titles), word
        by_title = {t: cb for t, cb, _ in app.palette_commands()}
        by_title["Load test: Compare marked"]()
        await pilot.pause(0.3)
        assert app.query_one("#tabs", TabbedContent).active == "loadtest"
        assert app.query_one("#lt-tabs", TabbedContent).active == "lt-history"
