"""Capacity sweeps: one load test per step over concurrency or request rate, stopping
when the server saturates or errors exceed a limit; with SLOs, the highest load that
meets them and the goodput there.

Steps are a given list, or a ladder that doubles from ``start`` up to ``max_load``.
After each step (from the second on) the sweep looks for **saturation**: output
throughput stops rising (less than ``min_gain``, 10 %, above the best so far) while
TTFT p50 keeps rising (more than ``latency_rise``, 25 %, over the previous step) or the
engine's queue keeps growing (waiting requests, mean over the step, up by ≥ 1 from the
previous step, from the telemetry). Which signal fired is said. A step whose failed
share exceeds ``max_error_rate`` stops the sweep too.

SLOs are checked on a percentile of each step (p99 by default) of TTFT, TPOT and E2EL.
Every step is a stored run (label ``sweep <tag> <axis>=<load>``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from llmops_tui.bench.metrics import SLO
from llmops_tui.bench.runner import LoadShape

AXES = ("concurrency", "rate")
PERCENTILES = (50, 90, 95, 99)


@dataclass
class SweepPlan:
    axis: str = "concurrency"  # concurrency | rate (req/s)
    loads: list[float] | None = None  # explicit steps; None: the doubling ladder
    start: float = 1
    max_load: float = 256
    requests_per_step: int | None = None  # default: max(min_requests, 4 × concurrency
    duration_per_step: float | None = None  # or 10 s × rate)
    min_requests: int = 16
    slo: SLO = field(default_factory=SLO)
    slo_percentile: int = 99
    max_error_rate: float = 0.05
    min_gain: float = 0.10
    latency_rise: float = 0.25
    queue_rise: float = 1.0

    def validate(self) -> list[str]:
        errs = []
        if self.axis not in AXES:
            errs.append(f"axis: {self.axis!r} is not one of {', '.join(AXES)}")
        if self.loads is not None and (not self.loads or any(not x > 0 for x in self.loads)):
            errs.append("loads: expected one or more numbers > 0")
        if self.loads is None and not 0 < self.start <= self.max_load:
            errs.append(f"ladder: start {self.start:g} must be > 0 and ≤ max {self.max_load:g}")
        if self.axis == "concurrency":
            for x in self.loads or [self.start]:
                if x != int(x):
                    errs.append(f"concurrency: {x:g} is not a whole number")
        if self.slo_percentile not in PERCENTILES:
            errs.append(f"slo percentile: {self.slo_percentile} is not one of 50, 90, 95, 99")
        if not 0 <= self.max_error_rate < 1:
            errs.append(f"max error rate: {self.max_error_rate:g} must be in [0, 1)")
        return errs

    def ladder(self) -> list[float]:
        if self.loads is not None:
            return list(self.loads)
        out, x = [], self.start
        while x <= self.max_load:
            out.append(x)
            x *= 2
        return out

    def shape(self, load: float, base: LoadShape) -> LoadShape:
        if self.axis == "concurrency":
            return replace(base, concurrency=int(load), request_rate=math.inf)
        return replace(base, request_rate=float(load))

    def num_requests(self, load: float) -> int:
        if self.requests_per_step:
            return self.requests_per_step
        per = 4 * load if self.axis == "concurrency" else 10 * load
        return max(self.min_requests, math.ceil(per))

    def load_text(self, load: float) -> str:
        return f"concurrency {load:g}" if self.axis == "concurrency" else f"{load:g} req/s"


@dataclass
class Step:
    load: float
    summary: dict[str, Any]
    run_id: int | None = None
    partial: bool = False
    slo_misses: list[str] = field(default_factory=list)
    meets_slo: bool | None = None  # None: no SLO given

    def get(self, path: str) -> float | None:
        v: Any = self.summary
        for part in path.split("."):
            v = v.get(part) if isinstance(v, dict) else None
        if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
            return float(v)
        return None

    @property
    def error_rate(self) -> float:
        done = (self.summary.get("completed") or 0) + (self.summary.get("failed") or 0)
        return (self.summary.get("failed") or 0) / done if done else 1.0


@dataclass
class SweepResult:
    plan: SweepPlan
    steps: list[Step] = field(default_factory=list)
    stopped: str | None = None  # why the sweep ended before its last step
    saturation: Step | None = None  # the step where saturation fired
    signal: str | None = None  # which signal fired, in words

    @property
    def best_under_slo(self) -> Step | None:
        """The highest load meeting the SLOs below the saturated step (past the knee more
        load only adds latency: its goodput is no better)."""
        ok = [s for s in self.steps if s.meets_slo and s is not self.saturation]
        return max(ok, key=lambda s: s.load) if ok else None

    @property
    def peak(self) -> Step | None:
        ok = [s for s in self.steps if (s.get("output_throughput") or 0.0) > 0]
        return max(ok, key=lambda s: s.get("output_throughput") or 0.0) if ok else None

    def answer(self) -> str:
        """The sweep's answer in one line."""
        p = self.plan
        parts = []
        if p.slo.any:
            best = self.best_under_slo
            slo = slo_words(p)
            if best is None:
                first = self.steps[0] if self.steps else None
                miss = f" ({'; '.join(first.slo_misses)})" if first and first.slo_misses else ""
                lowest = f" at the lowest load, {p.load_text(first.load)}{miss}" if first else ""
                parts.append(f"no load met {slo}{lowest}")
            else:
                good = best.get("goodput")
                parts.append(
                    f"highest load meeting {slo}: {p.load_text(best.load)}, goodput "
                    f"{_f(good)} req/s, {_f(best.get('output_throughput'), 0)} output tok/s"
                )
        elif self.peak is not None:
            pk = self.peak
            parts.append(
                f"peak {_f(pk.get('output_throughput'), 0)} output tok/s at {p.load_text(pk.load)}"
            )
        if self.saturation is not None:
            parts.append(f"saturated at {p.load_text(self.saturation.load)}: {self.signal}")
        elif self.stopped:
            parts.append(self.stopped)
        elif self.steps:
            parts.append(f"no saturation up to {p.load_text(self.steps[-1].load)}")
        return "; ".join(parts) or "no step ran"


def _f(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def slo_words(plan: SweepPlan) -> str:
    q = f"p{plan.slo_percentile}"
    s = plan.slo
    parts = [
        f"{name} {q} ≤ {v:g} ms"
        for name, v in (("TTFT", s.ttft_ms), ("TPOT", s.tpot_ms), ("E2EL", s.e2el_ms))
        if v is not None
    ]
    return " and ".join(parts)


def check_slo(step: Step, plan: SweepPlan) -> None:
    if not plan.slo.any:
        return
    q = f"p{plan.slo_percentile}"
    for key, name, limit in (
        ("ttft_ms", "TTFT", plan.slo.ttft_ms),
        ("tpot_ms", "TPOT", plan.slo.tpot_ms),
        ("e2el_ms", "E2EL", plan.slo.e2el_ms),
    ):
        if limit is None:
            continue
        v = step.get(f"{key}.{q}")
        if v is None or v > limit:
            step.slo_misses.append(f"{name} {q} {_f(v, 1)} ms > {limit:g}")
    step.meets_slo = not step.slo_misses and step.error_rate <= plan.max_error_rate


def saturation_signal(steps: list[Step], plan: SweepPlan) -> str | None:
    """Why the last step shows saturation (None: it does not)."""
    if len(steps) < 2:
        return None
    prev, cur = steps[-2], steps[-1]
    best = max((s.get("output_throughput") or 0.0) for s in steps[:-1])
    tput = cur.get("output_throughput") or 0.0
    if best <= 0 or tput > best * (1 + plan.min_gain):
        return None
    gain = f"output tok/s {100 * (tput / best - 1):+.0f} % of the best before"
    signals = []
    t0, t1 = prev.get("ttft_ms.p50"), cur.get("ttft_ms.p50")
    if t0 is not None and t1 is not None and t1 > t0 * (1 + plan.latency_rise) and t1 - t0 > 0.5:
        signals.append(f"TTFT p50 {t0:,.1f} → {t1:,.1f} ms")
    q0, q1 = prev.get("telemetry.waiting_mean"), cur.get("telemetry.waiting_mean")
    if q0 is not None and q1 is not None and q1 >= q0 + plan.queue_rise:
        signals.append(f"engine queue mean {q0:.1f} → {q1:.1f}")
    if not signals:
        return None
    return f"{' and '.join(signals)} while {gain}"


RunStep = Callable[[float, LoadShape, int], Awaitable[tuple[dict[str, Any], int | None, bool]]]


async def run_sweep(
    plan: SweepPlan,
    base: LoadShape,
    run_step: RunStep,
    *,
    stop: asyncio.Event | None = None,
    on_step: Callable[[Step, SweepResult], None] | None = None,
) -> SweepResult:
    """Run the steps; ``run_step(load, shape, num_requests)`` → (summary, run id, partial)."""
    errs = plan.validate()
    if errs:
        raise ValueError("; ".join(errs))
    res = SweepResult(plan)
    for i, load in enumerate(plan.ladder()):
        if stop is not None and stop.is_set():
            res.stopped = "stopped by the user"
            break
        shape = plan.shape(load, base if i == 0 else replace(base, warmup=0))
        summary, run_id, partial = await run_step(load, shape, plan.num_requests(load))
        step = Step(load, summary, run_id, partial)
        check_slo(step, plan)
        res.steps.append(step)
        sig = saturation_signal(res.steps, plan)
        if sig:
            res.saturation, res.signal = step, sig
        elif step.error_rate > plan.max_error_rate:
            res.stopped = (
                f"stopped at {plan.load_text(load)}: {100 * step.error_rate:.0f} % of requests "
                f"failed (limit {100 * plan.max_error_rate:g} %)"
            )
        elif partial:
            res.stopped = f"stopped at {plan.load_text(load)}: {summary.get('reason') or 'partial'}"
        if on_step is not None:
            on_step(step, res)
        if res.saturation is not None or res.stopped:
            break
    return res
