"""Helpers shared by the UI tests."""

from __future__ import annotations

# Workers that run for the app's whole life (the Monitor tab's 1 Hz sampler) or for as
# long as a view is open (an engine log view's tail -f follower).
ENDLESS_GROUPS = {"monitor", "logfollow"}


async def settle(pilot_or_app) -> None:
    """Wait for every finite worker, then let the screen refresh.

    ``WorkerManager.wait_for_complete([])`` would wait for *every* worker, endless ones
    included, so an empty list is never passed.
    """
    app = getattr(pilot_or_app, "app", pilot_or_app)
    pilot = pilot_or_app if hasattr(pilot_or_app, "pause") else None
    if pilot is not None:
        await pilot.pause()  # workers started after the first refresh are now started
    pending = [w for w in app.workers if w.group not in ENDLESS_GROUPS]
    if pending:
        await app.workers.wait_for_complete(pending)
    if pilot is not None:
        await pilot.pause()
