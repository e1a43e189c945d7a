"""Ring buffers of recent values (default 10 minutes at 1 Hz) feeding sparklines."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

DEFAULT_POINTS = 600  # 10 minutes at 1 Hz


class Series:
    """A fixed-size ring of floats; ``None`` (no reading) is stored as a gap."""

    __slots__ = ("_values",)

    def __init__(self, maxlen: int = DEFAULT_POINTS) -> None:
        self._values: deque[float | None] = deque(maxlen=maxlen)

    def add(self, value: float | None) -> None:
        self._values.append(value)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def maxlen(self) -> int:
        return self._values.maxlen or 0

    def values(self) -> list[float | None]:
        return list(self._values)

    def last(self, n: int | None = None, fill: float = 0.0) -> list[float]:
        """The newest ``n`` values (all when None), gaps as ``fill``: what a sparkline draws."""
        # list(deque) runs in C under the GIL: a consistent copy even while the
        # sampler thread appends; iterating the deque itself here could raise.
        vals = list(self._values)
        if n is not None:
            vals = vals[-n:] if n > 0 else []
        return [fill if v is None else v for v in vals]


class History:
    """Named series, created on first use; series of a gone GPU or engine are dropped.

    Written by the sampler thread, read by the UI thread: readers only take copies
    (``Series.last``) and never create series (``series`` returns an empty one).
    """

    def __init__(self, maxlen: int = DEFAULT_POINTS) -> None:
        self.maxlen = maxlen
        self._series: dict[str, Series] = {}

    def add(self, key: str, value: float | None) -> None:
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = Series(self.maxlen)
        series.add(value)

    def series(self, key: str) -> Series:
        return self._series.get(key) or Series(self.maxlen)

    def keys(self) -> list[str]:
        return list(self._series)  # a copy, made in C

    def retain(self, prefixes: Iterable[str]) -> None:
        """Drop series whose key starts with none of ``prefixes`` (a gone GPU or engine)."""
        keep = tuple(prefixes)
        for key in [k for k in list(self._series) if not k.startswith(keep)]:
            del self._series[key]
