"""The footer is rebuilt only when the keys it shows change (not on every bindings update)."""

from __future__ import annotations

from textual.widgets._footer import FooterKey

from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.shell import ShellFooter


def shown(footer: ShellFooter) -> list[str]:
    return [k.description or k.key for k in footer.query(FooterKey)]


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
        assert "Stop reply" in shown(footer)
        await settle(pilot)
