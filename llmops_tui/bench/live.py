"""Live view of a running load test: per-second series built from finished requests.

The runner's ``on_record`` only appends to :class:`LiveRun` (cheap, on the
benchmark's own loop); :meth:`LiveRun.refresh` bins what is new: output tokens per
second (each token counted in the second it arrived) and mean TTFT of the requests
sent in each second. :meth:`LiveRun.view` copies what a screen shows into a
:class:`LiveView` (the Load test tab gets one twice a second from the run's loop).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

from llmops_tui.bench.runner import Progress
from llmops_tui.client.records import RequestRecord

Plot = tuple[str, list[float], str, str | None]  # key, values, label, why there is none


@dataclass(frozen=True)
class LiveView:
    """A running load test as shown: counters, status line, per-second series, and the
    engine's plots (``bench.telemetry.live_series``). A copy: safe to hand to another thread."""

    done: int
    total: int | None
    status: str
    throughput: list[float]
    ttft_ms: list[float]
    plots: list[Plot] = field(default_factory=list)


@dataclass
class LiveRun:
    bucket_s: float = 1.0
    t0: float | None = None
    total: int | None = None
    completed: int = 0
    failed: int = 0
    in_flight: int = 0
    tokens: list[float] = field(default_factory=list)  # tokens arriving in each bucket
    ttft_sum: list[float] = field(default_factory=list)
    ttft_n: list[int] = field(default_factory=list)
    _pending: list[RequestRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_record(self, rec: RequestRecord, progress: Progress) -> None:
        """The runner's callback (may run in another thread): cheap."""
        with self._lock:
            self._pending.append(rec)
            self.t0 = progress.t0
            self.total = progress.total
            self.completed = progress.completed
            self.failed = progress.failed
            self.in_flight = progress.in_flight

    def refresh(self) -> None:
        with self._lock:
            new, self._pending = self._pending, []
        if self.t0 is None:
            return
        for rec in new:
            for t in rec.chunk_times:
                self.tokens[self._index(t)] += 1
            if rec.ok and rec.ttft is not None:
                i = self._index(rec.start)
                self._grow(i)
                self.ttft_sum[i] += rec.ttft * 1e3
                self.ttft_n[i] += 1

    def _index(self, t: float) -> int:
        i = max(0, int((t - (self.t0 or 0.0)) / self.bucket_s))
        self._grow(i)
        return i

    def _grow(self, i: int) -> None:
        for series, zero in ((self.tokens, 0.0), (self.ttft_sum, 0.0), (self.ttft_n, 0)):
            while len(series) <= i:
                series.append(zero)

    def throughput(self) -> list[float]:
        """Output tokens/s for each bucket so far."""
        return [n / self.bucket_s for n in self.tokens]

    def ttft_ms(self) -> list[float]:
        """Mean TTFT (ms) of the requests sent in each bucket (carried over empty buckets)."""
        out: list[float] = []
        last = 0.0
        for s, n in zip(self.ttft_sum, self.ttft_n):
            last = s / n if n else last
            out.append(last)
        return out

    def view(self, plots: list[Plot] | None = None) -> LiveView:
        """Bin what is new, then copy what is shown."""
        self.refresh()
        return LiveView(
            self.done,
            self.total,
            self.status_line(),
            self.throughput(),
            self.ttft_ms(),
            plots or [],
        )

    @property
    def done(self) -> int:
        return self.completed + self.failed

    def status_line(self) -> str:
        total = "∞" if self.total is None else str(self.total)
        tput = self.throughput()
        recent = tput[-2] if len(tput) >= 2 else (tput[-1] if tput else 0.0)
        ttft = [x for x in self.ttft_ms() if x]
        last_ttft = f"{ttft[-1]:.1f} ms" if ttft else "-"
        return (
            f"{self.done}/{total} done · {self.failed} failed · {self.in_flight} in flight · "
            f"{recent:,.0f} tok/s · TTFT {last_ttft}"
        )


def fraction(live: LiveRun) -> float:
    if not live.total:
        return math.nan
    return live.done / live.total
