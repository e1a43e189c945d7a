"""Run metrics with the definitions of ``vllm bench serve`` (vllm/benchmarks/serve.py).

- TTFT: request sent → first chunk with content.
- TPOT: (E2E − TTFT) / (output tokens − 1), for requests with more than one output token.
- ITL: every gap between consecutive content chunks, all requests pooled.
- E2E latency: request sent → last byte.
- Throughputs over the run's wall time (benchmark duration): completed requests/s,
  output tokens/s, (input + output) tokens/s.
- Goodput: completed requests/s meeting every given SLO (TTFT, TPOT, E2E, in ms).
- Percentiles: linear interpolation between closest ranks (numpy's default);
  std is the population standard deviation (numpy's default, ddof=0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llmops_tui.client.records import RequestRecord

PERCENTILES = (50, 90, 95, 99)

# One measured request as plain data: the keys of ``store.request_row`` (``--json``'s
# ``requests``, the results DB's ``requests`` table, and, with ``itl_ms`` summarized as a count
# and a mean, the CSV's columns: ``report.CSV_FIELDS``).
REQUEST_COLUMNS = (
    "start_s",
    "ttft_ms",
    "tpot_ms",
    "e2el_ms",
    "prompt_tokens",
    "completion_tokens",
    "token_source",
    "status",
    "error",
    "finish_reason",
    "response_id",
    "itl_ms",
)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile of an already sorted sequence (numpy's 'linear')."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    pos = (n - 1) * p / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def distribution(values: Iterable[float], scale: float = 1e3) -> dict[str, float]:
    """mean, std, min, max, p50/p90/p95/p99 of ``values`` (seconds → ms by default)."""
    xs = sorted(v * scale for v in values)
    if not xs:
        nan = math.nan
        return {"mean": nan, "std": nan, "min": nan, "max": nan} | {
            f"p{p}": nan for p in PERCENTILES
        }
    mean = math.fsum(xs) / len(xs)
    var = math.fsum((x - mean) ** 2 for x in xs) / len(xs)
    out = {"mean": mean, "std": math.sqrt(var), "min": xs[0], "max": xs[-1]}
    for p in PERCENTILES:
        out[f"p{p}"] = percentile(xs, p)
    return out


def tpot(rec: RequestRecord) -> float | None:
    out = rec.output_tokens()
    if rec.ttft is None or out <= 1:
        return None
    return (rec.e2e - rec.ttft) / (out - 1)


@dataclass(frozen=True)
class SLO:
    """Service-level objectives in milliseconds (None = not checked)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2el_ms: float | None = None

    def met_by(self, rec: RequestRecord) -> bool:
        ttft = rec.ttft
        if self.ttft_ms is not None and (ttft is None or ttft * 1e3 > self.ttft_ms):
            return False
        t = tpot(rec)
        if self.tpot_ms is not None and t is not None and t * 1e3 > self.tpot_ms:
            return False
        return not (self.e2el_ms is not None and rec.e2e * 1e3 > self.e2el_ms)

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.ttft_ms, self.tpot_ms, self.e2el_ms))


def summarize(records: Sequence[RequestRecord], duration_s: float, slo: SLO | None = None) -> dict:
    """The run summary (the ``summary`` object of ``llmops bench --json``)."""
    done = [r for r in records if r.ok]
    failed = len(records) - len(done)
    total_in = sum(r.prompt_tokens or 0 for r in done)
    total_out = sum(r.output_tokens() for r in done)
    dur = duration_s if duration_s > 0 else math.nan
    ttfts = [r.ttft for r in done if r.ttft is not None]
    tpots = [t for t in (tpot(r) for r in done) if t is not None]
    itls = [g for r in done for g in r.itls]
    e2els = [r.e2e for r in done]
    sources = sorted({r.token_source for r in done if r.token_source})
    summary = {
        "completed": len(done),
        "failed": failed,
        "duration_s": duration_s,
        "total_input_tokens": total_in,
        "total_output_tokens": total_out,
        "request_throughput": len(done) / dur,
        "output_throughput": total_out / dur,
        "total_token_throughput": (total_in + total_out) / dur,
        "ttft_ms": distribution(ttfts),
        "tpot_ms": distribution(tpots),
        "itl_ms": distribution(itls),
        "e2el_ms": distribution(e2els),
        # ITL is measured per chunk read: an engine that sends several tokens per chunk (the
        # CPU build does) has ITLs of ~0 between them; this says how many tokens a chunk held.
        "chunks": len(itls) + len(done),
        "tokens_per_chunk": total_out / (len(itls) + len(done)) if done else None,
        "output_token_source": "+".join(sources) or "none",
    }
    if slo is not None and slo.any:
        good = sum(1 for r in done if slo.met_by(r))
        summary["goodput"] = good / dur
        summary["slo"] = {"ttft_ms": slo.ttft_ms, "tpot_ms": slo.tpot_ms, "e2el_ms": slo.e2el_ms}
    errors: dict[str, int] = {}
    for r in records:
        if not r.ok:
            key = (r.error or f"HTTP {r.status}")[:200]
            errors[key] = errors.get(key, 0) + 1
    summary["errors"] = errors
    return summary
