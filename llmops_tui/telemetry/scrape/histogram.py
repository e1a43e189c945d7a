"""Engine latency histograms (Prometheus ``_bucket``/``_sum``/``_count``): cumulative totals
summed over ranks, their difference between two scrapes, and quantiles from the buckets.

vLLM and SGLang both export ``…:time_to_first_token_seconds`` and
``…:inter_token_latency_seconds`` (names checked against the pinned releases by
tests/unit/test_metric_name_fixtures.py and the contract tier); TGI has no TTFT histogram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llmops_tui.telemetry.scrape.samples import Samples

# engine → {kind: (metric base names, newest first)}
HISTOGRAMS = {
    "vllm": {
        "ttft": ("vllm:time_to_first_token_seconds",),
        "itl": ("vllm:inter_token_latency_seconds",),
    },
    "sglang": {
        "ttft": ("sglang:time_to_first_token_seconds",),
        "itl": ("sglang:inter_token_latency_seconds",),
    },
}


def wanted_lines(engine: str) -> frozenset[str]:
    """Sample names of the histograms read for ``engine`` (bucket, sum, count)."""
    out = set()
    for names in HISTOGRAMS.get(engine, {}).values():
        for base in names:
            out.update((base + "_bucket", base + "_sum", base + "_count"))
    return frozenset(out)


@dataclass(frozen=True)
class Hist:
    """Cumulative histogram totals (seconds), all ranks together."""

    sum: float
    count: float
    buckets: tuple[tuple[float, float], ...] = ()  # (upper bound, cumulative count), sorted

    def minus(self, earlier: Hist | None) -> Hist:
        """What was observed since ``earlier`` (a total that went down: the engine restarted)."""
        if earlier is None or self.count < earlier.count:
            return self
        before = dict(earlier.buckets)
        return Hist(
            self.sum - earlier.sum,
            self.count - earlier.count,
            tuple((le, c - before.get(le, 0.0)) for le, c in self.buckets),
        )

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count > 0 else None

    def quantile(self, q: float) -> float | None:
        """Linear interpolation inside the bucket holding the ``q`` quantile (Prometheus'
        ``histogram_quantile``); the last finite bound when it falls in ``+Inf``."""
        if self.count <= 0 or not self.buckets:
            return None
        rank = q * self.count
        prev_le, prev_c = 0.0, 0.0
        for le, c in self.buckets:
            if c >= rank:
                if math.isinf(le):
                    return prev_le
                if c == prev_c:
                    return le
                return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
            prev_le, prev_c = le, c
        return prev_le


def read_hist(samples: Samples, names: tuple[str, ...]) -> Hist | None:
    """The first histogram of ``names`` present, summed over every label set (ranks)."""
    for base in names:
        counts = samples.get(base + "_count")
        if not counts:
            continue
        total = sum(v for _, v in counts if not math.isnan(v))
        s = sum(v for _, v in samples.get(base + "_sum") if not math.isnan(v))
        by_le: dict[float, float] = {}
        for labels, v in samples.get(base + "_bucket"):
            try:
                le = float(labels.get("le", "nan"))
            except ValueError:
                continue
            if not math.isnan(le) and not math.isnan(v):
                by_le[le] = by_le.get(le, 0.0) + v
        return Hist(s, total, tuple(sorted(by_le.items())))
    return None
