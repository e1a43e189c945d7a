"""The Load test tab's live part: a running test's counters, progress bar and plots, drawn
from the :class:`~llmops_tui.bench.live.LiveView` the run's loop posts twice a second (a
``LoadTestProgress`` message, ui/messages.py: a tab busy drawing gets only the latest)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual.widgets import ProgressBar, Sparkline, Static

if TYPE_CHECKING:
    from llmops_tui.bench.live import LiveRun, LiveView
    from llmops_tui.bench.telemetry import TelemetrySampler


PROGRESS_S = 0.5  # how often a run's counters and plots are posted to the tab


class LiveProgress:
    """Mixed into LoadTestTab (which sets these attributes and handles the message)."""

    _live: LiveRun | None
    _sampler: TelemetrySampler | None

    def live_view(self) -> LiveView:
        """The running test as shown (from the run's thread, or here once it ended)."""
        assert self._live is not None
        plots = None
        if self._sampler is not None:
            from llmops_tui.bench.telemetry import live_series

            plots = live_series(self._sampler)
        return self._live.view(plots)

    async def post_progress(self) -> None:
        """On the run's own loop until cancelled (a test's end, a sweep's end): the run as
        it is now, twice a second, as a ``LoadTestProgress`` to the tab; a sweep's steps each
        set their own ``_live``, so the plots follow the step in progress."""
        from llmops_tui.ui.messages import LoadTestProgress, post

        while True:
            await asyncio.sleep(PROGRESS_S)
            if self._live is not None:
                post(self, LoadTestProgress(self.live_view()))  # type: ignore[arg-type]

    def refresh_live(self) -> None:
        """Draw the run as it is now (at its end, and a sweep's at each of its steps' end)."""
        if self._live is not None:
            self.show_live(self.live_view())

    def show_live(self, view: LiveView) -> None:
        if view.total:
            bar = self.query_one("#lt-progress", ProgressBar)
            bar.update(total=view.total, progress=view.done)
        self.query_one("#lt-status", Static).update(view.status)
        tput = view.throughput
        # the current second is still filling: plot the finished ones
        self.query_one("#lt-tput", Sparkline).data = tput[:-1] if len(tput) > 1 else tput
        self.query_one("#lt-ttft", Sparkline).data = view.ttft_ms
        tl = self.query_one("#lt-tput-label", Static)
        tl.update(f"Output tokens/s (max {max(tput, default=0):,.0f})")
        ttft = view.ttft_ms
        self.query_one("#lt-ttft-label", Static).update(
            f"TTFT (ms), by request start (max {max(ttft, default=0):,.1f})"
        )
        for key, values, label, why in view.plots:
            self.query_one(f"#lt-{key}", Sparkline).data = values
            text = self.query_one(f"#lt-{key}-label", Static)
            text.update(label)
            text.tooltip = why  # e.g. "no NVIDIA GPU found: …" in full
