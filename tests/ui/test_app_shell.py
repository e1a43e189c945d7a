"""The main window: five tabs, keyboard switching, Engines tab lists profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, TabbedContent
from textual.widgets._tabbed_content import ContentTab, ContentTabs

from llmops_tui.ui.app import TABS, LlmopsApp

ROOT = Path(__file__).resolve().parents[2]


async def _settle(pilot) -> None:
    """Wait for the profile list to load (other tabs run endless 1 Hz samplers)."""
    await pilot.pause()  # the Engines tab starts loading after the first refresh
    loaders = [w for w in pilot.app.workers if w.group == "profiles"]
    if loaders:  # (an empty list would mean "wait for every worker")
        await pilot.app.workers.wait_for_complete(loaders)
    await pilot.pause()


async def test_five_tabs_and_number_keys_switch():
    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        tabs = app.query_one(TabbedContent)
        top = tabs.get_child_by_type(ContentTabs)  # not the Load test tab's own sub-tabs
        labels = [str(t.label) for t in top.query(ContentTab)]
        assert labels == ["Models", "Engines", "Monitor", "Chat", "Load test"]
        for key, tab in (
            ("1", "models"),
            ("3", "monitor"),
            ("4", "chat"),  # the chat prompt takes the focus: digits type there now
            ("alt+5", "loadtest"),
            ("2", "engines"),
        ):
            await pilot.press(key)
            assert tabs.active == tab


async def test_engines_tab_lists_repo_profiles():
    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        table = app.query_one("#profiles", DataTable)
        names = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert "tiny-vllm-cpu" in names and "vllm-llama70b-fp8-tp2" in names


def test_snapshot_engines_tab(snap_compare):
    assert snap_compare(LlmopsApp(), terminal_size=(100, 30), run_before=_settle)


async def test_themes_registered_and_switch_is_remembered():
    from llmops_tui.themes import remembered_theme

    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "llmops-dark"
        assert {"llmops-light", "llmops-high-contrast"} <= set(app.available_themes)
        app.theme = "llmops-high-contrast"
        await pilot.pause()
    assert remembered_theme() == "llmops-high-contrast"
    app2 = LlmopsApp()
    async with app2.run_test(size=(100, 30)):
        assert app2.theme == "llmops-high-contrast"


async def test_help_screen_lists_keys_and_closes():
    from llmops_tui.ui.help import HelpScreen

    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Load test" in text and "command palette" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def test_snapshot_help(snap_compare):
    assert snap_compare(LlmopsApp(), terminal_size=(100, 30), press=["question_mark"])


def test_help_key_names():
    from llmops_tui.ui.help import describe_key

    assert describe_key("question_mark,f1") == "? / F1"
    assert describe_key("ctrl+p") == "Ctrl+P"
    assert describe_key("q") == "q"


@pytest.mark.parametrize("wait", [0.0, 0.3])
@pytest.mark.parametrize("tab", [tab_id for tab_id, _ in TABS])
async def test_quitting_right_after_start_leaves_no_traceback(
    tab, wait, caplog, tmp_path, monkeypatch
):
    """A quit before the tabs finish mounting: no worker, lazy mount or Select may fail.

    Each of these failed before: the Chat tab's engine probe queried a removed widget
    (NoMatches), its network thread's futures were cancelled on a closed loop ("Event
    loop is closed", logged by concurrent.futures), Lazy panes mounted into removed
    panes (MountError) and the Load test form's Select looked up its removed overlay.
    ``run_test`` re-raises what the app caught; the log holds what threads logged.
    At 0.3 s the chat engine probe is in flight on its network thread (stopping that
    loop under it was "Task was destroyed but it is pending!" on the H100 box; the
    unit test of NetworkThread.close pins that part down).
    """
    import asyncio
    import gc
    import logging
    import socket

    from llmops_tui.profiles.store import load_profile, save_profile

    caplog.set_level(logging.ERROR)
    # The one profile answers at a socket that accepts and never replies: its probe is
    # still in flight at the quit (1.5 s timeout), whatever the box's speed.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml")
    save_profile(
        profile.with_overrides(port=silent.getsockname()[1]),
        tmp_path / "profiles" / "tiny-vllm-cpu.toml",
    )
    monkeypatch.setenv("LLMOPS_PROFILES", str(tmp_path / "profiles"))
    try:
        app = LlmopsApp(initial_tab=tab)
        async with app.run_test(size=(120, 40)):
            await asyncio.sleep(wait)
        await asyncio.sleep(0.5)  # threads that were still working hand in their results
        gc.collect()  # a task left pending is reported when it is collected
    finally:
        silent.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_the_tab_shown_takes_the_focus_so_its_keys_work():
    """With no focus only the app's keys work: Ctrl+G on Load test and d on Models did
    nothing after switching there (seen in tmux). Each tab with keys takes the focus when
    shown, inside the sub-tab in view (focus in a hidden one would switch to it)."""
    from textual.widgets import TabbedContent

    from llmops_tui.ui.tabs.loadtest import LoadTestTab
    from llmops_tui.ui.tabs.models import ModelsTab

    app = LlmopsApp(initial_tab="loadtest")
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        for _ in range(3):
            await pilot.pause()
        lt = app.query_one(LoadTestTab)
        assert app.focused is not None and lt in app.focused.ancestors
        assert app.focused.id == "lt-profile"
        await pilot.press("1")
        await pilot.pause()
        await pilot.pause()
        assert app.focused is not None and app.focused.id == "cached"
        assert app.query_one(ModelsTab) in app.focused.ancestors
        # Load test with its History sub-tab in view: the focus goes there, it stays there.
        lt.query_one("#lt-tabs", TabbedContent).active = "lt-history"
        await pilot.press("5")
        await pilot.pause()
        await pilot.pause()
        assert lt.query_one("#lt-tabs", TabbedContent).active == "lt-history"
        assert app.focused is not None and app.focused.id == "lt-runs"


async def test_engine_records_arriving_after_the_header_is_gone_are_dropped():
    """The Engines tab's EngineRecords can reach the app while it quits, after the header
    was removed: a CI run's quit test failed on ``NoMatches: 'ShellHeader'`` there."""
    from llmops_tui.ui.messages import EngineRecords
    from llmops_tui.ui.shell import ShellHeader

    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        await app.query_one(ShellHeader).remove()
        app.post_message(EngineRecords([]))
        await pilot.pause()
        await pilot.pause()
        assert not app.query(ShellHeader)
