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
import time
from collections.abc import Callable
from typing import Any

from llmops_tui.bench.bakeoff_results import (
    BakeoffResult,
    BakeoffStore,
    EngineResult,
    ScenarioResult,
)
from llmops_tui.bench.bakeoff_sampling import (
    PREFIX_COUNTERS,
    GpuMemorySampler,
    ScenarioSamples,
    counter_total,
    prefix_hit_rate_delta,
    sample_loop,
    steady_value,
)
from llmops_tui.bench.runner import LoadShape
from llmops_tui.bench.session import Target, execute, resolve_tokenizer
from llmops_tui.bench.store import ResultStore
from llmops_tui.bench.suite import Scenario, Suite
from llmops_tui.bench.workload import WorkloadSpec, build_workload
from llmops_tui.profiles.profile import Profile

READY_TIMEOUT_S = 900.0


# -- the bake-off ---------------------------------------------------------------------
Event = Callable[[str], None]


def _target(profile: Profile, rec: Any) -> Target:
    from llmops_tui.engines import adapter

    return Target(
        base_url=rec.base_url,
        model=rec.served_model_name or profile.model_name,
        profile=profile.name,
        engine=profile.engine,
        api_key_env=profile.api_key_env,
        tokenizer_hint=adapter(profile.engine).model_arg(profile),
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
            self.result.id = self._db(self.bstore.create, self.result)
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
                self._db(self.bstore.finish, self.result)
        return self.result

    def _db(self, write: Callable[..., Any], *args: Any) -> Any:
        """A write of the bake-off's own rows; a database failure is noted, never raised
        (scenario runs the database cannot take are kept in files by ``execute``)."""
        try:
            return write(*args)
        except Exception as exc:  # corrupt, locked, a folder: said once, the bake-off goes on
            from llmops_tui.bench.fallback import store_problem

            if self.result.store_problem is None:
                self.result.store_problem = store_problem(self.store.path, exc)
                self.say(f"not stored: {self.result.store_problem}")
            return None

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
            LoadShape(concurrency=n),
            tokenizer=tokenizer,
            stop=self.stop,
            timeout=self.request_timeout,
            telemetry=False,
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
        samples = ScenarioSamples()
        sampling_done = asyncio.Event()
        sampler = asyncio.ensure_future(
            sample_loop(sampling_done, gpu, pids, scraper, mtarget, samples)
        )
        try:
            saved = None  # a sweep's steps say for themselves where they went
            if sc.sweep:
                summary, run_id, partial, reason = await self._sweep(
                    sc, target, tokenizer, workload
                )
            else:
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
                summary, run_id, saved = outcome.summary, outcome.run_id, outcome.saved
                partial, reason = outcome.result.partial, outcome.result.reason
                self._link(run_id, target, sc)
        finally:
            sampling_done.set()
            await asyncio.gather(sampler, return_exceptions=True)
        # the engine updates its counters when a request finishes; give the last ones time
        await asyncio.sleep(0.2)
        after = await read_prefix()
        rate, queries = prefix_hit_rate_delta(before, after)
        status = "failed" if summary["completed"] == 0 else "partial" if partial else "complete"
        kept_in = str(saved.fallback) if saved is not None and saved.fallback else None
        if saved is not None and not saved.stored:
            self.say(f"{target.profile}: {sc.name}: " + " ".join(saved.lines(self.store.path)))
        gpu_note = samples.gpu_note if gpu is not None else "no NVML"
        return ScenarioResult(
            scenario=sc.name,
            spec=sc.describe(),
            status=status,
            reason=reason,
            summary=summary,
            run_id=run_id,
            kept_in=kept_in,
            gpu_mem_peak_mib=max(samples.gpu_mib) if samples.gpu_mib else None,
            gpu_mem_steady_mib=steady_value(samples.gpu_mib),
            gpu_note=gpu_note,
            kv_usage_peak=max(samples.kv) if samples.kv else None,
            prefix_hit_rate=rate,
            prefix_queries=queries,
        )

    def _link(self, run_id: int | None, target: Target, sc: Scenario) -> None:
        if run_id is not None and self.bstore is not None and self.result.id is not None:
            self._db(self.bstore.link, self.result.id, run_id, target.profile or "", sc.name)

    async def _sweep(
        self, sc: Scenario, target: Target, tokenizer: Any, workload: Any
    ) -> tuple[dict[str, Any], int | None, bool, str | None]:
        """A sweep scenario: concurrency steps until saturation (bench/sweep.py); the scenario's
        figures are the step answering it (the highest load meeting its SLOs, else the
        peak-throughput step), with the sweep's answer and steps under ``summary["sweep"]``."""
        from llmops_tui.bench.metrics import SLO
        from llmops_tui.bench.sweep import SweepPlan, run_sweep

        plan = SweepPlan(
            loads=[float(x) for x in sc.sweep or ()],
            requests_per_step=sc.workload.num_requests,
            slo=SLO(*sc.slo),
        )

        async def run_step(load: float, shape: LoadShape, n: int):
            self.say(f"{target.profile}: {sc.name}, concurrency {load:g}")
            out = await execute(
                target,
                sc.workload,
                shape,
                tokenizer=tokenizer,
                stop=self.stop,
                store=self.store,
                label=f"bakeoff #{self.result.id} {target.profile} {sc.name} c={load:g}",
                workload=workload,
                timeout=self.request_timeout,
            )
            self._link(out.run_id, target, sc)
            if out.saved is not None and not out.saved.stored:
                self.say(
                    f"{target.profile}: {sc.name}: " + " ".join(out.saved.lines(self.store.path))
                )
            return out.summary, out.run_id, out.result.partial

        res = await run_sweep(plan, sc.shape, run_step, stop=self.stop)
        step = res.best_under_slo or res.peak or (res.steps[-1] if res.steps else None)
        if step is None:
            return {"completed": 0, "failed": 0}, None, True, res.stopped
        summary = dict(step.summary)
        summary["sweep"] = {
            "answer": res.answer(),
            "shown": step.load,
            "steps": [
                [s.load, s.get("output_throughput"), s.get("ttft_ms.p50")] for s in res.steps
            ],
        }
        partial = any(s.partial for s in res.steps)
        return summary, step.run_id, partial, res.stopped if partial else None

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
