"""Host CPU and RAM through psutil: what the Monitor shows when there is no GPU."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class HostSnapshot:
    cpu_percent: float  # all cores, 0–100
    cpu_count: int
    load_avg: tuple[float, float, float] | None
    memory_used: int  # bytes
    memory_total: int  # bytes
    taken_at: float = field(default_factory=time.time)

    @property
    def memory_fraction(self) -> float:
        return self.memory_used / self.memory_total if self.memory_total else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["memory_fraction"] = self.memory_fraction
        return out


class HostReader:
    """CPU % is measured between successive reads (the first read primes it)."""

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        psutil.cpu_percent(interval=None)
        self._primed_at: float | None = time.monotonic()

    def read(self) -> HostSnapshot:
        psutil = self._psutil
        if self._primed_at is not None:
            # The first CPU % needs a measuring window; a one-shot CLI read waits 0.2 s.
            wait = 0.2 - (time.monotonic() - self._primed_at)
            if wait > 0:
                time.sleep(wait)
            self._primed_at = None
        mem = psutil.virtual_memory()
        try:
            load = os.getloadavg()
        except (AttributeError, OSError):
            load = None
        return HostSnapshot(
            cpu_percent=float(psutil.cpu_percent(interval=None)),
            cpu_count=psutil.cpu_count() or 1,
            load_avg=load,
            memory_used=int(mem.total - mem.available),
            memory_total=int(mem.total),
        )
