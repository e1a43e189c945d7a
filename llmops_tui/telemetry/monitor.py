"""One monitor tick: GPUs (NVML) + host (psutil) + every engine's metrics, into history.

``MonitorSampler.sample`` is async (HTTP scrapes run concurrently while NVML is
read); ``run_monitor_loop`` drives it at a fixed rate on whatever thread calls it,
which for the TUI is a worker thread, never the UI thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmops_tui.telemetry.gpu import GpuSnapshot, NvmlReader
from llmops_tui.telemetry.history import History
from llmops_tui.telemetry.host import HostReader, HostSnapshot
from llmops_tui.telemetry.scrape.scraper import MetricsScraper
from llmops_tui.telemetry.scrape.stats import EngineStats
from llmops_tui.telemetry.targets import EngineTarget, pid_owners

TargetsFn = Callable[[], Sequence[EngineTarget]]


@dataclass
class MonitorSnapshot:
    gpus: GpuSnapshot
    host: HostSnapshot | None
    engines: list[EngineStats] = field(default_factory=list)
    taken_at: float = field(default_factory=time.time)
    sample_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at,
            "gpus": self.gpus.to_dict(),
            "host": self.host.to_dict() if self.host else None,
            "engines": [e.to_dict() for e in self.engines],
        }


def gpu_key(index: int) -> str:
    return f"gpu{index}."


def engine_key(name: str) -> str:
    return f"engine:{name}."


def record(history: History, snap: MonitorSnapshot) -> None:
    """Append one snapshot's values to the history (one point per series per tick)."""
    for g in snap.gpus.gpus:
        k = gpu_key(g.index)
        frac = g.memory_fraction
        history.add(k + "mem", None if frac is None else frac * 100)
        history.add(k + "util", g.util_percent)
        history.add(k + "power", g.power_w)
        history.add(k + "temp", g.temperature_c)
    if snap.host is not None:
        history.add("host.cpu", snap.host.cpu_percent)
        history.add("host.mem", snap.host.memory_fraction * 100)
    for e in snap.engines:
        k = engine_key(e.name)
        history.add(k + "kv", None if e.kv_cache_usage is None else e.kv_cache_usage * 100)
        history.add(k + "gen_tps", e.gen_tps)
        history.add(k + "prompt_tps", e.prompt_tps)
        history.add(k + "running", e.running)
        history.add(k + "waiting", e.waiting)
    history.retain(
        [gpu_key(g.index) for g in snap.gpus.gpus]
        + ["host."]
        + [engine_key(e.name) for e in snap.engines]
    )


class MonitorSampler:
    """Owns the readers and the scraper's counter state; reused tick after tick."""

    def __init__(
        self,
        targets: TargetsFn | None = None,
        gpu_reader: Any = None,
        host_reader: Any = None,
        scraper: MetricsScraper | None = None,
        history: History | None = None,
        host_always: bool = True,
    ) -> None:
        self.targets = targets or (lambda: [])
        self.gpu_reader = gpu_reader if gpu_reader is not None else NvmlReader()
        self._host_reader = host_reader
        self.scraper = scraper or MetricsScraper()
        self.history = history if history is not None else History()
        self.host_always = host_always

    @property
    def host_reader(self) -> Any:
        if self._host_reader is None:
            self._host_reader = HostReader()
        return self._host_reader

    async def sample(self) -> MonitorSnapshot:
        t0 = time.perf_counter()
        targets = list(self.targets())
        scrapes = asyncio.ensure_future(self.scraper.scrape_all(targets))
        gpus = self.gpu_reader.read(pid_owners(targets))
        host = self.host_reader.read() if (self.host_always or not gpus.available) else None
        engines = await scrapes
        snap = MonitorSnapshot(gpus=gpus, host=host, engines=engines)
        snap.sample_ms = (time.perf_counter() - t0) * 1000
        record(self.history, snap)
        return snap

    async def aclose(self) -> None:
        await self.scraper.aclose()
        close = getattr(self.gpu_reader, "close", None)
        if close is not None:
            close()


async def run_monitor_loop(
    sampler: MonitorSampler,
    on_sample: Callable[[MonitorSnapshot], None],
    stop: threading.Event,
    interval_s: float = 1.0,
) -> None:
    """Sample every ``interval_s`` (on a fixed grid, no drift) until ``stop`` is set."""
    next_at = time.monotonic()
    try:
        while not stop.is_set():
            snap = await sampler.sample()
            if stop.is_set():
                break
            on_sample(snap)
            next_at += interval_s
            delay = next_at - time.monotonic()
            if delay < 0:  # fell behind (slow scrape): skip missed ticks, don't burst
                next_at = time.monotonic()
                delay = 0
            # Sleep in short slices so that stopping is quick.
            end = time.monotonic() + delay
            while not stop.is_set() and time.monotonic() < end:
                await asyncio.sleep(min(0.1, end - time.monotonic()))
    finally:
        await sampler.aclose()
