"""Prometheus text → samples: only the wanted lines are parsed, each series once
(``SeriesCache``); per-rank aggregation and counter rates robust to resets."""

from __future__ import annotations

import math
from collections.abc import Iterable

# -- samples ------------------------------------------------------------------
Sample = tuple[dict[str, str], float]


class Samples:
    """Selected samples of one scrape, by exact sample name."""

    def __init__(self, by_name: dict[str, list[Sample]]) -> None:
        self.by_name = by_name

    def get(self, *names: str) -> list[Sample]:
        """Samples of the first name present (for renamed metrics across versions)."""
        for name in names:
            found = self.by_name.get(name)
            if found:
                return found
        return []

    def __contains__(self, name: str) -> bool:
        return bool(self.by_name.get(name))


def select_lines(text: str, wanted: frozenset[str]) -> list[str]:
    """Sample lines whose metric name is in ``wanted`` (comments and the rest dropped)."""
    keep = []
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        cut = line.find("{")
        if cut < 0:
            cut = line.find(" ")
        if line[:cut] in wanted:
            keep.append(line)
    return keep


class SeriesCache:
    """Parsed ``name{labels}`` per series text, so that a series seen before costs a float().

    Label sets are stable across scrapes (only values move), and label parsing is most
    of the text parser's time (``vllm:cache_config_info`` has ~40 labels). A series is
    parsed by prometheus_client the first time its text is seen.
    """

    MAX_SERIES = 20_000

    def __init__(self) -> None:
        self._series: dict[str, tuple[str, dict[str, str]]] = {}

    def get(self, key: str) -> tuple[str, dict[str, str]] | None:
        return self._series.get(key)

    def put(self, key: str, name: str, labels: dict[str, str]) -> None:
        if len(self._series) >= self.MAX_SERIES:
            self._series.clear()
        self._series[key] = (name, labels)


def _split_series(line: str) -> tuple[str, str]:
    """``'name{a="b"} 1.0 123'`` → (``'name{a="b"}'``, ``'1.0'``)."""
    cut = line.rfind("}") + 1 if "{" in line else line.find(" ")
    return line[:cut], line[cut:].split()[0]


def parse_samples(text: str, wanted: frozenset[str], cache: SeriesCache | None = None) -> Samples:
    """Parse the wanted samples with prometheus_client; ValueError if malformed."""
    from prometheus_client.parser import text_string_to_metric_families

    by_name: dict[str, list[Sample]] = {}
    for line in select_lines(text, wanted):
        hit = None
        if cache is not None:
            key, raw_value = _split_series(line)
            hit = cache.get(key)
        if hit is not None:
            name, labels = hit
            by_name.setdefault(name, []).append((labels, float(raw_value)))
            continue
        for family in text_string_to_metric_families(line + "\n"):
            for s in family.samples:
                by_name.setdefault(s.name, []).append((s.labels, float(s.value)))
                if cache is not None:
                    cache.put(key, s.name, s.labels)
    return Samples(by_name)


def detect_engine(text: str) -> str | None:
    for prefix, engine in (("vllm:", "vllm"), ("sglang:", "sglang"), ("tgi_", "tgi")):
        if prefix in text:
            return engine
    return None


# -- per-rank aggregation -----------------------------------------------------
def by_rank(samples: Iterable[Sample], rank_label: str | None, within: str) -> dict[str, float]:
    """Values per rank key (``"dp_rank=1"``; ``""`` when unlabelled).

    Within one rank duplicates (other labels, e.g. SGLang TP ranks reporting the
    same gauge, or a counter split by ``cache_source``) are combined by ``within``:
    ``"sum"`` or ``"mean"``. NaN samples are ignored.
    """
    groups: dict[str, list[float]] = {}
    for labels, value in samples:
        if math.isnan(value):
            continue
        key = f"{rank_label}={labels[rank_label]}" if rank_label and rank_label in labels else ""
        groups.setdefault(key, []).append(value)
    if within == "mean":
        return {k: sum(v) / len(v) for k, v in groups.items()}
    return {k: sum(v) for k, v in groups.items()}


def combine(values: dict[str, float], how: str) -> float | None:
    if not values:
        return None
    total = sum(values.values())
    return total / len(values) if how == "mean" else total


# -- counter rates ------------------------------------------------------------
class CounterRates:
    """Per-second rates of counters from successive scrapes; resets handled."""

    MIN_INTERVAL_S = 0.05

    def __init__(self) -> None:
        self._last: dict[tuple[str, ...], tuple[float, float]] = {}

    def rate(self, key: tuple[str, ...], value: float, now: float) -> float | None:
        prev = self._last.get(key)
        if prev is not None and now - prev[1] < self.MIN_INTERVAL_S:
            return None  # too close to the previous scrape to mean anything
        self._last[key] = (value, now)
        if prev is None:
            return None
        old, then = prev
        increase = value - old if value >= old else value  # went down: restarted from 0
        return increase / (now - then)

    def forget(self, prefix: str) -> None:
        for key in [k for k in self._last if k[0] == prefix]:
            del self._last[key]
