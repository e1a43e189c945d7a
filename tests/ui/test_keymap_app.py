"""keymap.toml in the config dir remaps the app's keys (ui/keys.py → App.set_keymap)."""

from __future__ import annotations

import os
from pathlib import Path

from textual.keys import Keys
from textual.widgets import TabbedContent

from llmops_tui.keymap import NAMED_KEYS
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.help import HelpScreen

SIZE = (100, 30)


def write_keymap(text: str) -> Path:
    path = Path(os.environ["LLMOPS_CONFIG_DIR"]) / "keymap.toml"  # a tmp dir (tests/conftest.py)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


async def keymap_read(app: LlmopsApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_remapped_key_runs_the_action_and_the_old_one_no_longer_does():
    write_keymap('[keys]\n"app.tab_monitor" = "M"\n"engines.launch" = "L"\n')
    app = LlmopsApp(initial_tab="engines")
    async with app.run_test(size=SIZE) as pilot:
        await keymap_read(app, pilot)
        tabs = app.query_one(TabbedContent)
        assert app.user_keymap == {"app.tab_monitor": "M", "engines.launch": "L"}
        await pilot.press("3")  # the default key of the Monitor tab: no longer bound
        assert tabs.active == "engines"
        await pilot.press("M")
        assert tabs.active == "monitor"
        await pilot.press("2")  # an entry the keymap does not name keeps its key
        assert tabs.active == "engines"
        # The footer's keys come from the screen's bindings: the new key, not the old one.
        await pilot.pause()
        shown = {key: b.binding.id for key, b in app.screen.active_bindings.items()}
        assert shown.get("L") == "engines.launch" and "l" not in shown
        # The help screen names the keys in force.
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = dict(r for _, section in help_screen.sections for r in section)
        assert rows.get("M") == "Monitor tab" and rows.get("3") is None
        assert rows.get("L") == "Launch" and "l" not in rows


async def test_bad_entries_are_notified_and_the_good_ones_still_apply():
    path = write_keymap('[keys]\n"app.tab_monitor" = "M"\n"engines.lanch" = "x"\n')
    app = LlmopsApp(initial_tab="engines")
    async with app.run_test(size=SIZE) as pilot:
        await keymap_read(app, pilot)
        messages = [n.message for n in app._notifications]
        assert any(m.startswith(f"{path}:3: engines.lanch: unknown binding id") for m in messages)
        assert app.user_keymap == {"app.tab_monitor": "M"}
        await pilot.press("M")
        assert app.query_one(TabbedContent).active == "monitor"


async def test_broken_toml_is_notified_and_nothing_is_remapped():
    path = write_keymap('[keys]\n"app.tab_monitor" = \n')
    app = LlmopsApp(initial_tab="engines")
    async with app.run_test(size=SIZE) as pilot:
        await keymap_read(app, pilot)
        assert any(n.message.startswith(f"{path}:2: invalid TOML") for n in app._notifications), [
            n.message for n in app._notifications
        ]
        assert app.user_keymap == {}
        await pilot.press("3")
        assert app.query_one(TabbedContent).active == "monitor"


async def test_missing_keymap_is_silent():
    app = LlmopsApp(initial_tab="engines")
    async with app.run_test(size=SIZE) as pilot:
        await keymap_read(app, pilot)
        assert app.user_keymap == {} and not list(app._notifications)


def test_named_keys_are_textual_keys():
    """keymap.py's list of key names (it imports no Textual) against Textual's own."""
    textual_names = {k.value for k in Keys}
    assert not NAMED_KEYS - textual_names


def test_llmops_keys_lists_the_real_bindings_with_the_keys_in_force(capsys):
    from llmops_tui.cli import main
    from llmops_tui.ui.keys import binding_catalogue

    write_keymap('[keys]\n"engines.launch" = "L"\n')
    assert main(["keys"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1:3] for line in lines if line and line[0] != "*"}
    assert set(rows) == set(binding_catalogue())
    assert rows["engines.launch"] == ["L", "*"]
    assert rows["engines.stop"][0] == "s" and rows["engines.stop"][1] != "*"


def test_llmops_keys_check_exits_1_on_a_problem(capsys):
    from llmops_tui.cli import main

    path = write_keymap('[keys]\n"engines.launch" = "cmd+l"\n')
    assert main(["keys", "--check"]) == 1
    assert f"{path}:2: engines.launch: unknown modifier 'cmd'" in capsys.readouterr().err
    path.unlink()
    assert main(["keys", "--check"]) == 0
