"""The UI's message seam: data several widgets show, as typed messages that coalesce.

A worker thread (or task) that produces one of these posts it on its own widget with
:func:`post` (thread-safe; dropped once the widget or the app is gone). Widgets handle
it with ``@on(...)``: first the producer, then each ancestor as it bubbles up to the
App. The App relays a non-bubbling copy (:meth:`Shared.relayed`) to the widgets
elsewhere in the DOM that show it (``LlmopsApp.RELAYS``: the one list of who shows
what), so a producer never knows its readers.

Each message coalesces: when a newer one of the same kind is already waiting in a
widget's queue, the older is dropped unhandled (Textual's ``MessagePump`` asks
``message.can_replace(pending)`` before dispatching), so a busy widget draws only the
latest snapshot instead of a backlog. The payloads are the core's dataclasses, typed
here for a type checker only (no import at start-up).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from textual.message import Message

from llmops_tui.ui.threads import alive

if TYPE_CHECKING:
    from textual.dom import DOMNode
    from typing_extensions import Self

    from llmops_tui.bench.live import LiveView
    from llmops_tui.supervisor.lost import LostEngine
    from llmops_tui.supervisor.records import EngineRecord
    from llmops_tui.telemetry.gpu import GpuSnapshot
    from llmops_tui.telemetry.monitor import MonitorSnapshot


class Shared(Message):
    """A snapshot of shared data: a newer one of the same kind supersedes it."""

    def can_replace(self, message: Message) -> bool:
        return type(message) is type(self)

    def relayed(self) -> Self:
        """A copy for another widget that stops there (it does not bubble back)."""
        twin = copy.copy(self)
        twin._prevent = set(self._prevent)
        return twin.stop()  # type: ignore[return-value]


class EngineRecords(Shared):
    """The supervisor's engines, read again (Engines tab's poll, every second)."""

    def __init__(
        self,
        records: list[EngineRecord],
        leftovers: dict[str, list[int]] | None = None,
        lost: list[LostEngine] | None = None,
    ) -> None:
        super().__init__()
        self.records = records
        self.leftovers = leftovers or {}
        self.lost = lost or []

    def ready_names(self) -> frozenset[str]:
        """The engines that answer now: what target pickers offer."""
        return frozenset(r.name for r in self.records if r.phase == "ready")


class ReadyEngines:
    """For a target picker: has the set of ready engines changed since the last records?
    The first records only set what was seen; a change the picker cannot act on now
    (``defer``: a reply streams, a test runs) is kept for the next poll."""

    def __init__(self) -> None:
        self.seen: frozenset[str] | None = None

    def changed(self, event: EngineRecords, *, defer: bool = False) -> bool:
        ready = event.ready_names()
        if self.seen is None:
            self.seen = ready
            return False
        if ready == self.seen or defer:
            return False
        self.seen = ready
        return True


class GpusRead(Shared):
    """One NVML read for the header (the app's poll, every 2 s)."""

    def __init__(self, snapshot: GpuSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class MonitorSampled(Shared):
    """One sample of everything the Monitor tab shows (GPUs, host, engines' metrics)."""

    def __init__(self, snapshot: MonitorSnapshot) -> None:
        super().__init__()
        self.snapshot = snapshot


class LoadTestProgress(Shared):
    """A running load test's counters and live series (the run's loop, twice a second)."""

    def __init__(self, view: LiveView) -> None:
        super().__init__()
        self.view = view


def post(node: DOMNode, message: Message) -> bool:
    """From any thread: post ``message`` on ``node`` unless it or the app is gone.
    Returns whether it was queued (never waits for it to be handled)."""
    if not alive(node):
        return False
    try:
        return node.post_message(message)
    except RuntimeError:  # the app's loop closed meanwhile (quit during a read)
        if alive(node):
            raise
        return False
