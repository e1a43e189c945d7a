"""Engine and GPU telemetry while a load test runs.

A :class:`TelemetrySampler` scrapes the target's ``/metrics`` (the Monitor's
``MetricsScraper``: KV usage, running/waiting, counters, the engine's own TTFT/ITL
histograms) and reads NVML (``NvmlReader``: util, memory, power, the energy
counter) every ``interval_s`` (0.2 s: 5 Hz) in **its own thread with its own event
loop**, so the load generator's loop never waits on it. Each point is stamped with
``time.perf_counter()`` (the clock of ``RequestRecord``) at the middle of its read.

The runner asks for a *baseline* point right before its measured part starts
(``run_load(on_start=…)``), and :meth:`stop` takes the final point (again, up to a
few times, while the generation counter still moves): counter differences between
the two are the run's. No ``/metrics`` or no GPU: the reason is kept, sampling goes on
with what there is. :func:`derive` turns the points into the figures of the summary.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from dataclasses import asdict, dataclass, fields
from itertools import pairwise
from typing import Any

from llmops_tui.telemetry.scrape.histogram import Hist

INTERVAL_S = 0.2
FINAL_TRIES = 5  # final points while the engine's generation counter still moves
FINAL_GAP_S = 0.1


@dataclass
class TelemetryPoint:
    t: float  # perf_counter (the request records' clock); stored relative to the run's t0
    kv: float | None = None  # 0–1
    running: float | None = None
    waiting: float | None = None
    preemptions: float | None = None  # cumulative
    prefix_hits: float | None = None  # cumulative
    prefix_queries: float | None = None
    prompt_tokens: float | None = None
    gen_tokens: float | None = None
    ttft_sum: float | None = None  # the engine's TTFT histogram totals (s, cumulative)
    ttft_count: float | None = None
    itl_sum: float | None = None
    itl_count: float | None = None
    gpu_util: float | None = None  # % mean over the engine's GPUs
    gpu_mem_mib: float | None = None  # sum over them
    gpu_power_w: float | None = None
    gpu_energy_j: float | None = None  # the boards' energy counters summed (cumulative)
    scrape_ms: float | None = None
    error: str | None = None  # this point's /metrics failure


COLUMNS = tuple(f.name for f in fields(TelemetryPoint))


def point_row(p: TelemetryPoint, t0: float) -> dict[str, Any]:
    row = asdict(p)
    row["t"] = round(p.t - t0, 4)
    return row


class TelemetrySampler:
    """Samples one engine and its GPUs in a background thread (see the module doc)."""

    def __init__(
        self,
        metrics_url: str | None,
        engine: str = "auto",
        pids: frozenset[int] | set[int] = frozenset(),
        *,
        gpu: bool = True,
        nvml: Any = None,
        interval_s: float = INTERVAL_S,
        name: str = "target",
    ) -> None:
        self.metrics_url = metrics_url
        self.engine = engine
        self.pids = frozenset(pids)
        self.interval_s = interval_s
        self.name = name
        self.points: list[TelemetryPoint] = []  # appended by the thread; read a slice
        self.metrics_note: str | None = None if metrics_url else "no /metrics URL"
        self.gpu_note: str | None = None if gpu else "GPU sampling off"
        self.gpu_indices: list[int] = []
        self.baseline_index = 0
        self.baseline_hists: dict[str, Hist] = {}
        self.last_hists: dict[str, Hist] = {}
        self.engine_seen: str | None = None
        self._use_gpu = gpu
        self._nvml = nvml
        self._reader: Any = None
        self._wake = threading.Event()
        self._ready = threading.Event()
        self._baseline_done = threading.Event()
        self._want_baseline = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.cpu_s = 0.0  # thread CPU time after the first point (benchmarks read it)

    # -- control (any thread) -----------------------------------------------------
    def start(self, wait_s: float = 3.0) -> None:
        """Start the thread; returns once the first point is taken (or ``wait_s`` passed)."""
        self._thread = threading.Thread(target=self._main, name="llmops-telemetry", daemon=True)
        self._thread.start()
        self._ready.wait(wait_s)

    async def baseline(self) -> None:
        """Take a point now and make it the baseline (awaited by the runner before its t0)."""
        if self._thread is None or not self._thread.is_alive():
            return
        self._baseline_done.clear()
        self._want_baseline = True
        self._wake.set()
        await asyncio.get_running_loop().run_in_executor(None, self._baseline_done.wait, 3.0)

    def stop(self, wait_s: float = 10.0) -> None:
        """Take the final point(s) and end the thread."""
        if self._thread is None:
            return
        self._stopping = True
        self._wake.set()
        self._thread.join(wait_s)

    # -- the thread -----------------------------------------------------------------
    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        scraper = target = None
        if self.metrics_url:
            from llmops_tui.telemetry.scrape.scraper import MetricsScraper
            from llmops_tui.telemetry.targets import EngineTarget

            scraper = MetricsScraper(timeout_s=max(2.0, self.interval_s * 10))
            target = EngineTarget(self.name, self.engine, self.metrics_url, self.pids)
        if self._use_gpu:
            from llmops_tui.telemetry.gpu import NvmlReader

            self._reader = NvmlReader(self._nvml)
        c0: float | None = None
        try:
            next_at = time.perf_counter()
            while True:
                if self._stopping:
                    self._final(loop, scraper, target)
                    break
                want = self._want_baseline
                self._take(loop, scraper, target)
                if c0 is None:  # the first point pays the imports (httpx, the parser): not counted
                    c0 = time.thread_time()
                self._ready.set()
                if want:
                    self.baseline_index = len(self.points) - 1
                    self.baseline_hists = dict(self.last_hists)
                    self._want_baseline = False
                    self._baseline_done.set()
                now = time.perf_counter()
                next_at = max(next_at + self.interval_s, now)
                if not self._want_baseline:
                    self._wake.wait(next_at - now)
                self._wake.clear()
        finally:
            self._ready.set()
            self._baseline_done.set()
            if scraper is not None:
                loop.run_until_complete(scraper.aclose())
            loop.close()
            if self._reader is not None:
                self._reader.close()
            self.cpu_s = time.thread_time() - c0 if c0 is not None else 0.0

    def _final(self, loop: Any, scraper: Any, target: Any) -> None:
        before = self.points[-1].gen_tokens if self.points else None
        for _ in range(FINAL_TRIES):
            self._take(loop, scraper, target)
            now = self.points[-1].gen_tokens
            if now is None or now == before:
                break
            before = now
            time.sleep(FINAL_GAP_S)

    def _take(self, loop: Any, scraper: Any, target: Any) -> None:
        t_a = time.perf_counter()
        p = TelemetryPoint(t=t_a)
        if scraper is not None:
            stats = loop.run_until_complete(scraper.scrape(target))
            t_b = time.perf_counter()
            p.t = (t_a + t_b) / 2
            p.scrape_ms = (t_b - t_a) * 1e3
            self._from_stats(p, stats)
        if self._reader is not None:
            self._from_gpus(p)
        self.points.append(p)

    def _from_stats(self, p: TelemetryPoint, st: Any) -> None:
        if st.error:
            p.error = st.error
            self.metrics_note = st.error
            return
        self.metrics_note = None
        self.engine_seen = st.engine
        p.kv, p.running, p.waiting = st.kv_cache_usage, st.running, st.waiting
        p.preemptions = st.preemptions
        p.prefix_hits, p.prefix_queries = st.prefix_hits_total, st.prefix_queries_total
        p.prompt_tokens, p.gen_tokens = st.prompt_tokens_total, st.gen_tokens_total
        for kind in ("ttft", "itl"):
            h = getattr(st, f"{kind}_hist")
            if h is not None:
                self.last_hists[kind] = h
                setattr(p, f"{kind}_sum", h.sum)
                setattr(p, f"{kind}_count", h.count)

    def _from_gpus(self, p: TelemetryPoint) -> None:
        owners = {pid: self.name for pid in self.pids}
        snap = self._reader.read(owners)
        if not snap.available:
            self.gpu_note = snap.reason
            self._reader.close()
            self._reader = None  # the reason does not change during a run
            return
        gpus = [g for g in snap.gpus if not g.error]
        if self.pids:
            mine = [g for g in gpus if any(pr.engine == self.name for pr in g.processes)]
            if mine:
                gpus = mine
                self.gpu_note = None
            else:
                self.gpu_note = "the engine's processes hold no GPU memory: all GPUs shown"
        else:
            self.gpu_note = "engine processes not known (no profile): all GPUs"
        self.gpu_indices = [g.index for g in gpus]
        if not gpus:
            return
        utils = [g.util_percent for g in gpus if g.util_percent is not None]
        p.gpu_util = sum(utils) / len(utils) if utils else None
        mem = [g.memory_used for g in gpus if g.memory_used is not None]
        p.gpu_mem_mib = sum(mem) / (1024 * 1024) if mem else None
        power = [g.power_w for g in gpus if g.power_w is not None]
        p.gpu_power_w = sum(power) if len(power) == len(gpus) else None
        energy = [g.energy_j for g in gpus if g.energy_j is not None]
        p.gpu_energy_j = sum(energy) if len(energy) == len(gpus) else None

    # -- results ------------------------------------------------------------------------
    def rows(self, t0: float) -> list[dict[str, Any]]:
        return [point_row(p, t0) for p in list(self.points)]

    def derive(self, t0: float, t_end: float, summary: dict[str, Any]) -> dict[str, Any]:
        out = derive(
            list(self.points),
            self.baseline_index,
            t0,
            t_end,
            summary,
            metrics_note=self.metrics_note,
            gpu_note=self.gpu_note,
            gpu_indices=self.gpu_indices,
            hists=(self.baseline_hists, self.last_hists),
        )
        # what sampling cost this process (the sampler thread's CPU time per point)
        out["sampler_cpu_ms_per_sample"] = self.cpu_s * 1e3 / max(1, len(self.points) - 1)
        return out


LIVE_PLOTS = (
    ("kv", "KV cache %", 100.0),
    ("running", "Running", 1.0),
    ("waiting", "Waiting", 1.0),
    ("gpu_power_w", "GPU W", 1.0),
)


def live_series(s: TelemetrySampler) -> list[tuple[str, list[float], str, str | None]]:
    """(key, values, label, why there is none) per live plot of the Load test tab."""
    points = list(s.points)
    out = []
    for key, label, scale in LIVE_PLOTS:
        values = [v * scale for p in points if (v := getattr(p, key)) is not None]
        note = s.gpu_note if key == "gpu_power_w" else s.metrics_note
        if values:
            text = f"{label} {values[-1]:,.0f} (max {max(values):,.0f})"
        else:
            text = f"{label}: none" if note else f"{label}: waiting for samples"
        out.append((key, values, text, None if values else note))
    return out


def sampler_for(target: Any, *, gpu: bool = True, nvml: Any = None) -> TelemetrySampler:
    """A sampler for a bench ``Target``: its ``/metrics`` at the server root, and the GPUs
    its engine's processes hold (when a profile names a running engine)."""
    from urllib.parse import urlsplit

    parts = urlsplit(target.base_url)
    root = parts.path.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    url = f"{parts.scheme}://{parts.netloc}{root}/metrics"
    pids: set[int] = set()
    if target.profile:
        try:
            from llmops_tui.supervisor.core import Supervisor

            pids = set(Supervisor().process_pids(target.profile))
        except Exception:  # no state, or not ours: GPU figures cover every GPU
            pids = set()
    return TelemetrySampler(
        url, target.engine or "auto", pids, gpu=gpu, nvml=nvml, name=target.profile or "target"
    )


# -- derived figures ------------------------------------------------------------------
def _delta(first: float | None, last: float | None) -> float | None:
    if first is None or last is None:
        return None
    return last - first if last >= first else last  # went down: the engine restarted


def _at(points: list[TelemetryPoint], attr: str, t: float) -> float | None:
    """A cumulative series at time ``t``, interpolated between the points around it."""
    xs = [(p.t, getattr(p, attr)) for p in points if getattr(p, attr) is not None]
    if not xs:
        return None
    if t <= xs[0][0]:
        return xs[0][1]
    for (ta, va), (tb, vb) in pairwise(xs):
        if ta <= t <= tb:
            return va if tb == ta else va + (vb - va) * (t - ta) / (tb - ta)
    return xs[-1][1]


def _power_integral(points: list[TelemetryPoint], t0: float, t1: float) -> float | None:
    xs = [(p.t, p.gpu_power_w) for p in points if p.gpu_power_w is not None]
    if len(xs) < 2:
        return None
    total = 0.0
    for (ta, pa), (tb, pb) in pairwise(xs):
        a, b = max(ta, t0), min(tb, t1)
        if b > a:
            total += (pa + pb) / 2 * (b - a)
    return total


def _stats(values: list[float]) -> tuple[float | None, float | None]:
    return (max(values), sum(values) / len(values)) if values else (None, None)


def derive(
    points: list[TelemetryPoint],
    baseline_index: int,
    t0: float,
    t_end: float,
    summary: dict[str, Any],
    *,
    metrics_note: str | None = None,
    gpu_note: str | None = None,
    gpu_indices: list[int] | None = None,
    hists: tuple[dict[str, Hist], dict[str, Hist]] = ({}, {}),
) -> dict[str, Any]:
    """The summary's ``telemetry`` object (see ``bench/report.py`` for how it prints)."""
    window = [p for p in points if t0 <= p.t <= t_end] or points[baseline_index:]
    base = points[baseline_index] if points else None
    last = points[-1] if points else None
    out: dict[str, Any] = {
        "samples": len(window),
        "interval_ms": (
            (window[-1].t - window[0].t) / (len(window) - 1) * 1e3 if len(window) > 1 else None
        ),
        "metrics": metrics_note or "ok",
        "gpu": gpu_note or ("GPUs " + ",".join(map(str, gpu_indices)) if gpu_indices else "ok"),
    }
    for attr in ("kv", "running", "waiting"):
        peak, mean = _stats([v for p in window if (v := getattr(p, attr)) is not None])
        out[f"{attr}_peak"], out[f"{attr}_mean"] = peak, mean
    d = {
        a: _delta(getattr(base, a, None), getattr(last, a, None))
        for a in ("preemptions", "prefix_hits", "prefix_queries", "prompt_tokens", "gen_tokens")
    }
    out["preemptions"] = d["preemptions"]
    q = d["prefix_queries"]
    out["prefix_hit_rate"] = (
        None
        if q is None or d["prefix_hits"] is None
        else (min(max(d["prefix_hits"] / q, 0.0), 1.0) if q > 0 else 0.0)
    )
    out["engine_prompt_tokens"] = d["prompt_tokens"]
    out["engine_generation_tokens"] = d["gen_tokens"]
    first_h, last_h = hists
    for kind in ("ttft", "itl"):
        h = last_h.get(kind)
        if h is None:
            out[f"server_{kind}_ms"] = None
            continue
        dh = h.minus(first_h.get(kind))
        out[f"server_{kind}_ms"] = {
            "mean": None if dh.mean is None else dh.mean * 1e3,
            "p50": None if (v := dh.quantile(0.5)) is None else v * 1e3,
            "p99": None if (v := dh.quantile(0.99)) is None else v * 1e3,
            "count": dh.count,
        }
    client = summary.get("ttft_ms") or {}
    out["client_ttft_ms"] = {k: client.get(k) for k in ("mean", "p50", "p99")}
    utils = [p.gpu_util for p in window if p.gpu_util is not None]
    out["gpu_util_mean"] = sum(utils) / len(utils) if utils else None
    out["gpu_mem_peak_mib"], _ = _stats([p.gpu_mem_mib for p in window if p.gpu_mem_mib])
    out["gpu_power_peak_w"], out["gpu_power_mean_w"] = _stats(
        [p.gpu_power_w for p in window if p.gpu_power_w is not None]
    )
    energy, source = None, None
    e0, e1 = _at(points, "gpu_energy_j", t0), _at(points, "gpu_energy_j", t_end)
    if e0 is not None and e1 is not None and e1 >= e0:
        energy, source = e1 - e0, "energy counter"
    else:
        energy = _power_integral(points, t0, t_end)
        source = "power samples, integrated" if energy is not None else None
    out["energy_j"], out["energy_source"] = energy, source
    tokens = summary.get("total_output_tokens") or 0
    ok = energy is not None and energy > 0 and tokens > 0
    out["joules_per_output_token"] = energy / tokens if ok else None
    out["output_tokens_per_joule"] = tokens / energy if ok else None
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}
