"""Bake-off: the same suite on several engines, one after the other.

For each profile in turn: preflight, launch (``Supervisor.up``), wait until
ready, warm up, run each scenario through the load-test runner while sampling
GPU memory (NVML: the engine's processes, peak and steady) and the engine's
``/metrics`` (KV-cache usage peak; prefix-cache hit rate over the scenario, from
counter deltas), then stop it (``Supervisor.down``, which waits for its GPU
memory to be freed) before the next. An engine that is refused, fails to start
or dies mid-run is recorded with its reason and the bake-off moves on. A stop
request (Ctrl-C) stops the running engine and keeps what is done (partial).

Every scenario run is stored in ``results.db`` like any load test, and linked to
the bake-off's row (table ``bakeoffs`` / ``bakeoff_runs``).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from llmops_tui.bench.runner import LoadShape
from llmops_tui.bench.session import Target, execute, resolve_tokenizer
from llmops_tui.bench.store import ResultStore
from llmops_tui.bench.suite import Scenario, Suite
from llmops_tui.bench.workload import WorkloadSpec, build_workload
from llmops_tui.profiles.profile import Profile

MIB = 1024 * 1024
SAMPLE_INTERVAL_S = 0.5
READY_TIMEOUT_S = 900.0

# Prefix-cache counters per engine: (hits, queries); both in tokens.
PREFIX_COUNTERS = {
    "vllm": (
        ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
        ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    ),
    "sglang": (("sglang:cached_tokens_total",), ("sglang:prompt_tokens_total",)),
}


# -- results ---------------------------------------------------------------------
@dataclass
class ScenarioResult:
    scenario: str
    spec: dict[str, Any]  # Scenario.describe()
    status: str  # complete | partial | failed | not run
    reason: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    gpu_mem_peak_mib: float | None = None  # None: no GPU / NVML ("n/a")
    gpu_mem_steady_mib: float | None = None
    gpu_note: str | None = None
    kv_usage_peak: float | None = None  # 0–1
    prefix_hit_rate: float | None = None  # 0–1 over the scenario; None: no counters
    prefix_queries: float | None = None  # tokens looked up in the prefix cache meanwhile


@dataclass
class EngineResult:
    profile: str
    engine: str
    model: str
    status: str = "pending"  # ok | refused | failed | died | stopped | pending
    reason: str | None = None
    startup_s: float | None = None
    scenarios: list[ScenarioResult] = field(default_factory=list)
    gpu_memory_released: bool | None = None
    stop_note: str | None = None


@dataclass
class BakeoffResult:
    suite: dict[str, Any]
    profiles: list[str]
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    engines: list[EngineResult] = field(default_factory=list)
    partial: bool = False
    reason: str | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BakeoffResult:
        engines = []
        for e in d.get("engines", []):
            e = dict(e)
            e["scenarios"] = [ScenarioResult(**s) for s in e.get("scenarios", [])]
            engines.append(EngineResult(**e))
        return cls(**{**d, "engines": engines})


# -- storage ---------------------------------------------------------------------
BAKEOFF_SCHEMA = """
CREATE TABLE IF NOT EXISTS bakeoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    suite TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bakeoff_runs (
    bakeoff_id INTEGER NOT NULL REFERENCES bakeoffs(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    profile TEXT NOT NULL,
    scenario TEXT NOT NULL,
    PRIMARY KEY (bakeoff_id, run_id)
);
"""


class BakeoffStore:
    """Bake-offs in the results database, next to (and linking) their runs."""

    def __init__(self, results: ResultStore):
        self.results = results

    def _db(self):
        return self.results._db()

    def create(self, result: BakeoffResult) -> int:
        with self._db() as db:
            db.executescript(BAKEOFF_SCHEMA)
            cur = db.execute(
                "INSERT INTO bakeoffs (created_at, suite, status, result) VALUES (?, ?, ?, ?)",
                (result.started_at, result.suite["name"], "running", "{}"),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def link(self, bakeoff_id: int, run_id: int, profile: str, scenario: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO bakeoff_runs VALUES (?, ?, ?, ?)",
                (bakeoff_id, run_id, profile, scenario),
            )

    def finish(self, result: BakeoffResult) -> None:
        assert result.id is not None
        status = "partial" if result.partial else "complete"
        with self._db() as db:
            db.execute(
                "UPDATE bakeoffs SET status = ?, result = ? WHERE id = ?",
                (status, json.dumps(result.to_dict(), default=str), result.id),
            )

    def get(self, bakeoff_id: int) -> BakeoffResult | None:
        with self._db() as db:
            db.executescript(BAKEOFF_SCHEMA)
            row = db.execute("SELECT result FROM bakeoffs WHERE id = ?", (bakeoff_id,)).fetchone()
        if row is None or row[0] == "{}":
            return None
        return BakeoffResult.from_dict(json.loads(row[0]))

    def run_ids(self, bakeoff_id: int) -> list[tuple[int, str, str]]:
        with self._db() as db:
            db.executescript(BAKEOFF_SCHEMA)
            return [
                (r[0], r[1], r[2])
                for r in db.execute(
                    "SELECT run_id, profile, scenario FROM bakeoff_runs WHERE bakeoff_id = ?"
                    " ORDER BY run_id",
                    (bakeoff_id,),
                )
            ]


# -- sampling during a scenario ------------------------------------------------------
def counter_total(text: str, engine: str, names: tuple[str, ...]) -> float | None:
    """Sum over ranks of the first counter in ``names`` present in a /metrics page."""
    from llmops_tui.telemetry.scrape.engine_maps import WANTED
    from llmops_tui.telemetry.scrape.samples import parse_samples

    wanted = WANTED.get(engine)
    if wanted is None:
        return None
    samples = parse_samples(text, wanted)
    found = samples.get(*names)
    if not found:
        return None
    return sum(v for _, v in found)


def prefix_hit_rate_delta(
    before: tuple[float | None, float | None], after: tuple[float | None, float | None]
) -> tuple[float | None, float | None]:
    """(hit rate, queries) between two (hits, queries) counter readings.

    None when the engine has no such counters; rate 0 when nothing was looked up
    (so "caching off" reads 0, not unknown). A counter that went down (engine
    restarted) counts from 0.
    """
    (h0, q0), (h1, q1) = before, after
    if h1 is None or q1 is None:
        return None, None
    dh = h1 - (h0 or 0) if h0 is not None and h1 >= h0 else h1
    dq = q1 - (q0 or 0) if q0 is not None and q1 >= q0 else q1
    if dq <= 0:
        return 0.0, 0.0
    return min(max(dh / dq, 0.0), 1.0), dq


def steady_value(samples: list[float]) -> float | None:
    """The median of the second half of the samples (after the ramp-up)."""
    if not samples:
        return None
    tail = samples[len(samples) // 2 :]
    return float(statistics.median(tail))


class GpuMemorySampler:
    """GPU memory held by an engine's processes (sum over GPUs), or why it is unknown."""

    def __init__(self, reader: Any = None) -> None:
        from llmops_tui.telemetry.gpu import NvmlReader

        self.reader = reader or NvmlReader()

    def read_mib(self, pids: set[int]) -> tuple[float | None, str | None]:
        snap = self.reader.read()
        if not snap.available:
            return None, snap.reason or "no GPU"
        used = 0
        per_process = False
        for gpu in snap.gpus:
            for p in gpu.processes:
                if p.pid in pids and p.used_bytes is not None:
                    used += p.used_bytes
                    per_process = True
        if per_process:
            return used / MIB, None
        # No per-process figures (MIG, containers): whole-GPU memory in use instead.
        total = sum(g.memory_used or 0 for g in snap.gpus)
        return total / MIB, "whole-GPU memory (no per-process figures)"

    def close(self) -> None:
        self.reader.close()


@dataclass
class _Samples:
    gpu_mib: list[float] = field(default_factory=list)
    gpu_note: str | None = None
    kv: list[float] = field(default_factory=list)


async def _sample_loop(
    stop: asyncio.Event,
    gpu: GpuMemorySampler | None,
    pids: set[int],
    scraper: Any,
    target: Any,
    out: _Samples,
) -> None:
    while True:
        if gpu is not None:
            mib, note = await asyncio.to_thread(gpu.read_mib, pids)
            if mib is not None:
                out.gpu_mib.append(mib)
            out.gpu_note = note
        stats = await scraper.scrape(target)
        if stats.kv_cache_usage is not None:
            out.kv.append(stats.kv_cache_usage)
        try:
            await asyncio.wait_for(stop.wait(), SAMPLE_INTERVAL_S)
            return
        except asyncio.TimeoutError:
            pass


# -- the bake-off ---------------------------------------------------------------------
Event = Callable[[str], None]


def _target(profile: Profile, rec: Any) -> Target:
    return Target(
        base_url=rec.base_url,
        model=rec.served_model_name or profile.model_name,
        profile=profile.name,
        engine=profile.engine,
        api_key_env=profile.api_key_env,
        tokenizer_hint=os.path.expanduser(profile.model)
        if profile.is_local_model
        else profile.model,
    )


class Bakeoff:
    """Runs a suite on profiles in turn. Use :meth:`run` from an asyncio loop."""

    def __init__(
        self,
        profiles: list[Profile],
        suite: Suite,
        *,
        supervisor: Any = None,
        store: ResultStore | None = None,
        on_event: Event | None = None,
        stop: asyncio.Event | None = None,
        ready_timeout: float = READY_TIMEOUT_S,
        request_timeout: float = 600.0,
        gpu: bool = True,
    ):
        from llmops_tui.supervisor.core import Supervisor

        self.profiles = profiles
        self.suite = suite
        self.sup = supervisor or Supervisor()
        self.store = store
        self.bstore = BakeoffStore(store) if store is not None else None
        self.on_event = on_event or (lambda msg: None)
        self.stop = stop or asyncio.Event()
        self.ready_timeout = ready_timeout
        self.request_timeout = request_timeout
        self.use_gpu = gpu
        self.result = BakeoffResult(suite=suite.describe(), profiles=[p.name for p in profiles])
        self.current: str | None = None  # the engine running now

    def say(self, msg: str) -> None:
        self.on_event(msg)

    async def run(self) -> BakeoffResult:
        if self.bstore is not None:
            self.result.id = self.bstore.create(self.result)
        gpu = None
        if self.use_gpu:
            try:
                gpu = GpuMemorySampler()
            except Exception:  # no pynvml at all: memory is n/a
                gpu = None
        try:
            for profile in self.profiles:
                er = EngineResult(profile.name, profile.engine, profile.model_name)
                self.result.engines.append(er)
                if self.stop.is_set():
                    er.status, er.reason = "stopped", "bake-off stopped before this engine"
                    self._not_run(er, er.reason)
                    continue
                try:
                    await self._one_engine(profile, er, gpu)
                finally:
                    await self._down(profile, er)
        except asyncio.CancelledError:
            self.result.partial = True
            self.result.reason = self.result.reason or "cancelled"
            raise
        finally:
            if gpu is not None:
                gpu.close()
            self.result.finished_at = time.time()
            if self.stop.is_set():
                self.result.partial = True
                self.result.reason = self.result.reason or "stopped by the user"
            if self.bstore is not None and self.result.id is not None:
                self.bstore.finish(self.result)
        return self.result

    def _not_run(self, er: EngineResult, reason: str | None) -> None:
        done = {s.scenario for s in er.scenarios}
        for sc in self.suite.scenarios:
            if sc.name not in done:
                er.scenarios.append(ScenarioResult(sc.name, sc.describe(), "not run", reason))

    async def _one_engine(self, profile: Profile, er: EngineResult, gpu: GpuMemorySampler | None):
        from llmops_tui.engines.base import LaunchRefused
        from llmops_tui.supervisor.records import EngineFailed

        self.say(f"{profile.name}: preflight")
        try:
            await asyncio.to_thread(self.sup.preflight, profile)
            t0 = time.monotonic()
            rec = await asyncio.to_thread(self.sup.up, profile)
        except LaunchRefused as exc:
            er.status, er.reason = "refused", str(exc)
            self.say(f"{profile.name}: refused: {exc}")
            self._not_run(er, "engine refused")
            return
        except (OSError, ValueError) as exc:  # could not spawn it at all
            er.status, er.reason = "failed", f"failed at start: {exc}"
            self.say(f"{profile.name}: {er.reason}")
            self._not_run(er, "engine failed at start")
            return
        self.current = profile.name
        self.say(f"{profile.name}: starting (pid {rec.pid})")
        try:
            rec = await self._wait_ready(profile.name)
        except EngineFailed as exc:
            er.status, er.reason = "failed", f"failed at start: {exc}"
            self.say(f"{profile.name}: {er.reason}")
            self._not_run(er, "engine failed at start")
            return
        except TimeoutError as exc:
            er.status, er.reason = "failed", str(exc)
            self._not_run(er, "engine not ready in time")
            return
        if rec is None:  # stopped while starting
            er.status, er.reason = "stopped", "stopped by the user while starting"
            self._not_run(er, er.reason)
            return
        er.startup_s = round(time.monotonic() - t0, 2)
        self.say(f"{profile.name}: ready in {er.startup_s:.0f} s")
        target = _target(profile, rec)
        pids = set(await asyncio.to_thread(self.sup.process_pids, profile.name))

        from llmops_tui.telemetry.scrape.scraper import MetricsScraper
        from llmops_tui.telemetry.targets import EngineTarget

        mtarget = EngineTarget(profile.name, rec.engine, rec.metrics_url, frozenset(pids))
        scraper = MetricsScraper()
        try:
            tokenizer = None
            try:
                tokenizer = resolve_tokenizer(WorkloadSpec(), target)
            except Exception:
                tokenizer = None
            await self._warm_up(target, tokenizer)
            for sc in self.suite.scenarios:
                if self.stop.is_set():
                    break
                res = await self._scenario(sc, target, tokenizer, gpu, pids, scraper, mtarget)
                er.scenarios.append(res)
                died = await self._died(profile.name)
                if died is not None:
                    er.status, er.reason = "died", died
                    self.say(f"{profile.name}: died: {died}")
                    self._not_run(er, "engine died")
                    return
            if self.stop.is_set():
                er.status, er.reason = "stopped", "stopped by the user"
                self._not_run(er, er.reason)
            else:
                er.status = "ok"
        finally:
            await scraper.aclose()

    async def _wait_ready(self, name: str) -> Any:
        """The ready record; None when stopped meanwhile. Raises EngineFailed/TimeoutError."""
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.stop.is_set():
                return None
            try:
                return await asyncio.to_thread(self.sup.wait_ready, name, 1.0)
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"{name} not ready after {self.ready_timeout:.0f} s"
                    ) from None

    async def _died(self, name: str) -> str | None:
        rec = await asyncio.to_thread(self.sup.get, name)
        if rec is None:
            return "its state record is gone"
        if rec.phase in ("failed", "stopped"):
            return rec.root_cause or f"engine is {rec.phase} (exit code {rec.exit_code})"
        return None

    async def _warm_up(self, target: Target, tokenizer: Any) -> None:
        n = self.suite.warmup
        if n <= 0:
            return
        self.say(f"{target.profile}: warm-up ({n} requests)")
        spec = WorkloadSpec(num_requests=n, input_len=32, output_len=16, seed=1_000)
        await execute(
            target,
            spec,
            LoadShape(max_concurrency=n),
            tokenizer=tokenizer,
            stop=self.stop,
            timeout=self.request_timeout,
        )

    async def _scenario(
        self,
        sc: Scenario,
        target: Target,
        tokenizer: Any,
        gpu: GpuMemorySampler | None,
        pids: set[int],
        scraper: Any,
        mtarget: Any,
    ) -> ScenarioResult:
        import httpx

        self.say(f"{target.profile}: {sc.name} ({sc.workload.num_requests} requests)")
        workload = await asyncio.to_thread(build_workload, sc.workload, tokenizer)
        counters = PREFIX_COUNTERS.get(mtarget.engine)

        async def read_prefix() -> tuple[float | None, float | None]:
            if counters is None:
                return None, None
            try:
                async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
                    text = (await http.get(mtarget.metrics_url)).text
            except httpx.HTTPError:
                return None, None
            return (
                counter_total(text, mtarget.engine, counters[0]),
                counter_total(text, mtarget.engine, counters[1]),
            )

        before = await read_prefix()
        samples = _Samples()
        sampling_done = asyncio.Event()
        sampler = asyncio.ensure_future(
            _sample_loop(sampling_done, gpu, pids, scraper, mtarget, samples)
        )
        try:
            outcome = await execute(
                target,
                sc.workload,
                sc.shape,
                tokenizer=tokenizer,
                stop=self.stop,
                store=self.store,
                label=f"bakeoff #{self.result.id} {target.profile} {sc.name}",
                workload=workload,
                timeout=self.request_timeout,
            )
        finally:
            sampling_done.set()
            await asyncio.gather(sampler, return_exceptions=True)
        # the engine updates its counters when a request finishes; give the last ones time
        await asyncio.sleep(0.2)
        after = await read_prefix()
        rate, queries = prefix_hit_rate_delta(before, after)
        summary = outcome.summary
        if summary["completed"] == 0:
            status = "failed"
        else:
            status = "partial" if outcome.result.partial else "complete"
        if outcome.run_id is not None and self.bstore is not None and self.result.id is not None:
            self.bstore.link(self.result.id, outcome.run_id, target.profile or "", sc.name)
        gpu_note = samples.gpu_note if gpu is not None else "no NVML"
        return ScenarioResult(
            scenario=sc.name,
            spec=sc.describe(),
            status=status,
            reason=outcome.result.reason,
            summary=summary,
            run_id=outcome.run_id,
            gpu_mem_peak_mib=max(samples.gpu_mib) if samples.gpu_mib else None,
            gpu_mem_steady_mib=steady_value(samples.gpu_mib),
            gpu_note=gpu_note,
            kv_usage_peak=max(samples.kv) if samples.kv else None,
            prefix_hit_rate=rate,
            prefix_queries=queries,
        )

    async def _down(self, profile: Profile, er: EngineResult) -> None:
        from llmops_tui.supervisor.records import EngineNotFound, StopIncomplete

        if self.sup.get(profile.name) is None or self.current != profile.name:
            return
        self.say(f"{profile.name}: stopping (waiting for GPU memory to be freed)")
        try:
            rec = await asyncio.shield(asyncio.to_thread(self.sup.down, profile.name))
            er.gpu_memory_released = rec.gpu_memory_released
        except StopIncomplete as exc:
            er.stop_note = str(exc)
            er.gpu_memory_released = False
        except EngineNotFound:
            pass
        self.current = None
        self.say(f"{profile.name}: stopped")
