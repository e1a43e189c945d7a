"""One load-test run end to end: workload → runner → metrics → store. Used by the CLI and the tab."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmops_tui.bench.eventloop import loop_name
from llmops_tui.bench.fallback import Saved, save_run
from llmops_tui.bench.metrics import SLO, summarize
from llmops_tui.bench.runner import (
    LoadShape,
    Progress,
    RunResult,
    SendFn,
    make_sender,
    run_load,
)
from llmops_tui.bench.store import ResultStore, request_row
from llmops_tui.bench.telemetry import TelemetrySampler, sampler_for
from llmops_tui.bench.workload import (
    Tokenizer,
    TokenizerError,
    Workload,
    WorkloadSpec,
    build_workload,
    load_tokenizer,
)
from llmops_tui.client.http import StreamClient
from llmops_tui.client.records import RequestRecord

# What sends one prompt: by default a StreamClient on the target; tests and benchmarks pass
# their own (a fake stream, no socket).
SenderFactory = Callable[["Target", WorkloadSpec, "Tokenizer | None"], SendFn]


@dataclass
class Target:
    base_url: str
    model: str
    profile: str | None = None
    engine: str | None = None
    api_key_env: str | None = None
    tokenizer_hint: str | None = None  # the profile's model path or repo id

    def describe(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "model": self.model,
            "profile": self.profile,
            "engine": self.engine,
        }


def target_from_profile(name: str) -> Target:
    """A running engine's address and model from its profile (raises ProfileError/NotFound)."""
    from llmops_tui.engines import adapter
    from llmops_tui.profiles.store import find_profile
    from llmops_tui.supervisor.core import running_endpoint

    p = find_profile(name)
    host = "127.0.0.1" if p.host in ("0.0.0.0", "::", "") else p.host
    if ":" in host:
        host = f"[{host}]"
    base_url, model = f"http://{host}:{p.port}", p.model_name
    running = running_endpoint(p.name)  # where it really runs (llmops up --set port=…)
    if running is not None:
        base_url, model = running
    return Target(
        base_url=base_url,
        model=model,
        profile=p.name,
        engine=p.engine,
        api_key_env=p.api_key_env,
        tokenizer_hint=adapter(p.engine).model_arg(p),
    )


def resolve_tokenizer(spec: WorkloadSpec, target: Target) -> Tokenizer | None:
    """``spec.tokenizer`` if given (errors if unusable), else the model's, found locally, or None."""
    if spec.tokenizer:
        tok = load_tokenizer(spec.tokenizer)
        if tok is None:
            raise TokenizerError(
                f"--tokenizer {spec.tokenizer}: not a file, folder or cached Hugging Face repo"
            )
        return tok
    for hint in (target.tokenizer_hint, target.model):
        try:
            tok = load_tokenizer(hint)
        except TokenizerError:
            continue
        if tok is not None:
            return tok
    return None


@dataclass
class Outcome:
    result: RunResult
    summary: dict[str, Any]
    workload: Workload
    requests: list[dict[str, Any]]
    run_id: int | None = None
    report: dict[str, Any] = field(default_factory=dict)
    saved: Saved | None = None  # where the run went (None: not asked to store it)


class Stop(asyncio.Event):
    """A stop request that may say why (``stopped by SIGTERM``); plain ``set()`` is the user."""

    reason: str | None = None

    def request(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
        self.set()


class TargetAsleep(RuntimeError):
    """The target is an engine of ours that sleeps (sleep mode): a request would wait, unserved,
    until it is woken; the message says how to wake it."""


def asleep_problem(base_url: str) -> str | None:
    """Why not to send to ``base_url`` now (an engine of ours asleep), else None."""
    try:
        from llmops_tui.supervisor.sleep import asleep_message

        return asleep_message(base_url)
    except Exception:  # a state folder we cannot read says nothing about the engine
        return None


async def execute(
    target: Target,
    spec: WorkloadSpec,
    shape: LoadShape,
    *,
    tokenizer: Tokenizer | None = None,
    slo: SLO | None = None,
    stop: asyncio.Event | None = None,
    on_record: Callable[[RequestRecord, Progress], None] | None = None,
    store: ResultStore | None = None,
    label: str = "",
    workload: Workload | None = None,
    timeout: float = 600.0,
    sender_factory: SenderFactory | None = None,
    telemetry: bool = True,
    sampler: TelemetrySampler | None = None,
) -> Outcome:
    """``telemetry``: sample the engine's ``/metrics`` and GPUs during the run (a sampler
    for the target unless ``sampler`` is given; none with a fake ``sender_factory``)."""
    asleep = await asyncio.to_thread(asleep_problem, target.base_url)
    if asleep:
        raise TargetAsleep(asleep)
    workload = workload or build_workload(spec, tokenizer)
    if sampler is None and telemetry and sender_factory is None:
        sampler = sampler_for(target)
    if sampler is not None:
        await asyncio.to_thread(sampler.start)
    on_start = sampler.baseline if sampler is not None else None
    try:
        if sender_factory is not None:
            send = sender_factory(target, spec, tokenizer)
            result = await run_load(
                send, workload.prompts, shape, stop=stop, on_record=on_record, on_start=on_start
            )
        else:
            api_key = os.environ.get(target.api_key_env) if target.api_key_env else None
            client = StreamClient(target.base_url, api_key=api_key, timeout=timeout)
            try:
                send = make_sender(client, target.model, spec, tokenizer)
                result = await run_load(
                    send, workload.prompts, shape, stop=stop, on_record=on_record, on_start=on_start
                )
            finally:
                await client.aclose()
    finally:
        if sampler is not None:
            await asyncio.to_thread(sampler.stop)
    if result.reason == "stopped by the user" and getattr(stop, "reason", None):
        result.reason = stop.reason  # type: ignore[union-attr]
    summary = summarize(result.records, result.duration_s, slo)
    summary["partial"] = result.partial
    summary["reason"] = result.reason
    summary["cancelled"] = result.cancelled
    requests = [request_row(r, result.t0) for r in result.records]
    wl = workload.describe()
    report = {
        "summary": summary,
        "requests": requests,
        "workload": wl,
        "load": shape.describe(),
        "target": target.describe(),
        "client": {"event_loop": loop_name(), "timeout_s": timeout},
    }
    points: list[dict[str, Any]] = []
    if sampler is not None:
        summary["telemetry"] = sampler.derive(result.t0, result.t0 + result.duration_s, summary)
        points = sampler.rows(result.t0)
        report["telemetry"] = points
    saved = None
    if store is not None:
        # never raises: a database that cannot take the run gets it kept in a file instead
        saved = save_run(
            store,
            target=target.describe(),
            workload=wl,
            load=shape.describe(),
            summary=summary,
            requests=requests,
            partial=result.partial,
            reason=result.reason,
            label=label,
            created_at=result.started_at,
            telemetry=points,
        )
        report.update(saved.describe())
    run_id = saved.run_id if saved is not None else None
    return Outcome(result, summary, workload, requests, run_id, report, saved)
