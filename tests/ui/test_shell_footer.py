"""The footer is rebuilt only when the keys it shows change (not on every bindings update)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.shell import ShellFooter


def shown(footer: ShellFooter) -> list[str]:
    return [k.description or k.key for k in footer.query(FooterKey)]


def cut_off(footer: ShellFooter) -> list[str]:
    """Keys drawn past where the "^p palette" entry (docked right, 12 cells) begins."""
    edge = footer.region.right - 12
    return [
        k.description or k.key
        for k in footer.query(FooterKey)
        if k.description != "palette" and k.region.right > edge
    ]


async def settle(pilot) -> None:
    """Let the tabs' loading workers finish (the monitor's sampler never does)."""
    for _ in range(3):
        await pilot.pause()
    loaders = [w for w in pilot.app.workers if w.group != "monitor"]
    if loaders:
        await pilot.app.workers.wait_for_complete(loaders)
    await pilot.pause()


async def test_footer_rebuilds_only_when_its_keys_change():
    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer = app.query_one(ShellFooter)
        rebuilds = 0
        original = footer.recompose

        async def counting_recompose() -> None:
            nonlocal rebuilds
            rebuilds += 1
            await original()

        footer.recompose = counting_recompose
        keys_before = footer.query(FooterKey).nodes
        assert "Launch" in shown(footer)  # the Engines tab's keys

        # Bindings updates that change nothing shown (Textual sends these on every focus
        # move): several in one frame, none rebuilds the footer.
        for _ in range(5):
            app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert rebuilds == 0
        assert footer.query(FooterKey).nodes == keys_before  # the same widgets

        # To the Chat tab: the focus is let go (the app's keys only), then its prompt takes
        # it (the chat keys): at most one rebuild for each, the chat keys shown.
        await pilot.press("4")
        await pilot.pause()
        await pilot.pause()
        assert 1 <= rebuilds <= 2
        assert "Find engines" in shown(footer)
        await settle(pilot)


async def test_every_key_fits_in_the_footer_at_100_columns():
    """At 100 columns each tab's footer shows all its keys, Help and Quit included.

    (Five "N Tabname" entries used to push the Engines tab's last keys, Help and Quit
    past the edge; the Chat tab's long labels did too.)
    """
    app = LlmopsApp()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        footer = app.query_one(ShellFooter)
        for key, tab in (("1", "models"), ("3", "monitor"), ("4", "chat"), ("alt+5", "loadtest")):
            await pilot.press(key)
            await pilot.pause()
            await pilot.pause()
            # Every tab names its tab keys: 1…5, or on Chat (digits type into the prompt)
            # Alt+1…5.
            assert "Tabs" in shown(footer), tab
            assert "Help" in shown(footer), tab
            assert cut_off(footer) == [], f"{tab}: past the footer's edge (before ^p palette)"
        await pilot.press("alt+2")
        await pilot.pause()
        await pilot.pause()
        assert {"Launch", "Logs", "Help", "Quit"} <= set(shown(footer))
        assert cut_off(footer) == []
