"""The runner: sends a workload under a load shape and collects request records.

Load shapes follow ``vllm bench serve``: an optional cap on requests in flight
(``concurrency``) and an arrival process — all at once (``request_rate``
inf), Poisson arrivals (gamma-distributed gaps with shape ``burstiness``; 1 is
Poisson, < 1 burstier, > 1 more regular) or a constant rate. Arrivals are
scheduled on absolute times, so the rate does not drift with loop lag.

The run stops at the request count, or at ``duration_s`` (no new requests
after it; those in flight finish). Warm-up requests go first and are not
counted. A stop request (Ctrl-C, the tab's Stop) or a server that stops
answering ends the run early: what finished is kept and the result is marked
partial, with the reason. Failed requests are kept with their error text.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field

from llmops_tui.bench.workload import Prompt, Tokenizer, WorkloadSpec
from llmops_tui.client.http import StreamClient
from llmops_tui.client.records import ChatRequest, CompletionRequest, RequestRecord, count_with

SendFn = Callable[[Prompt], Awaitable[RequestRecord]]


@dataclass
class LoadShape:
    concurrency: int | None = None
    request_rate: float = math.inf  # requests/s; inf = send all at once
    burstiness: float = 1.0
    constant_rate: bool = False  # evenly spaced arrivals instead of Poisson/gamma
    duration_s: float | None = None
    warmup: int = 0
    seed: int = 0

    def validate(self) -> list[str]:
        errs = []
        if self.concurrency is not None and self.concurrency < 1:
            errs.append(f"concurrency: {self.concurrency} must be ≥ 1")
        if not self.request_rate > 0:
            errs.append(f"request_rate: {self.request_rate} must be > 0 (or inf)")
        if not self.burstiness > 0:
            errs.append(f"burstiness: {self.burstiness} must be > 0")
        if self.duration_s is not None and not self.duration_s > 0:
            errs.append(f"duration_s: {self.duration_s} must be > 0")
        if self.warmup < 0:
            errs.append(f"warmup: {self.warmup} must be ≥ 0")
        return errs

    def describe(self) -> dict:
        rate = None if math.isinf(self.request_rate) else self.request_rate
        return {
            "concurrency": self.concurrency,
            "request_rate": rate,
            "burstiness": self.burstiness,
            "constant_rate": self.constant_rate,
            "duration_s": self.duration_s,
            "warmup": self.warmup,
            "seed": self.seed,
        }


def arrival_gaps(
    rate: float, burstiness: float = 1.0, constant: bool = False, rng: random.Random | None = None
) -> Iterator[float]:
    """Seconds between consecutive request arrivals (first request at 0).

    Gamma(shape=burstiness, scale=1/(rate·burstiness)) like ``vllm bench serve``:
    mean gap 1/rate whatever the burstiness; burstiness 1 is a Poisson process.
    """
    rng = rng or random.Random(0)
    if math.isinf(rate):
        while True:
            yield 0.0
    if constant:
        while True:
            yield 1.0 / rate
    theta = 1.0 / (rate * burstiness)
    while True:
        yield rng.gammavariate(burstiness, theta)


@dataclass
class RunResult:
    records: list[RequestRecord]  # measured requests, in order of completion
    duration_s: float
    partial: bool = False
    reason: str | None = None
    cancelled: int = 0  # in flight when the run was stopped: neither completed nor failed
    warmup_failed: int = 0
    started_at: float = field(default_factory=time.time)  # epoch seconds
    t0: float = 0.0  # perf_counter at the start of the measured part


@dataclass
class Progress:
    """Live state, updated as requests finish (read by the CLI and the tab)."""

    total: int | None
    sent: int = 0
    completed: int = 0
    failed: int = 0
    in_flight: int = 0
    output_tokens: int = 0
    t0: float = 0.0

    @property
    def done(self) -> int:
        return self.completed + self.failed


def make_sender(
    client: StreamClient,
    model: str,
    spec: WorkloadSpec,
    tokenizer: Tokenizer | None = None,
) -> SendFn:
    """Turn prompts into streamed requests on ``spec.endpoint``."""
    count = tokenizer.count if tokenizer is not None else None

    async def send(prompt: Prompt) -> RequestRecord:
        if spec.endpoint == "chat":
            req: CompletionRequest | ChatRequest = ChatRequest(
                model=model,
                messages=[{"role": "user", "content": prompt.text}],
                max_tokens=prompt.output_len,
                ignore_eos=spec.ignore_eos,
                temperature=spec.temperature,
            )
        else:
            req = CompletionRequest(
                model=model,
                prompt=prompt.text,
                max_tokens=prompt.output_len,
                ignore_eos=spec.ignore_eos,
                temperature=spec.temperature,
            )
        rec = await client.request(req, text_if_no_usage=count is not None)
        if rec.ok:
            count_with(count, rec)
            if rec.prompt_tokens is None:
                rec.prompt_tokens = prompt.input_len
        return rec

    return send


async def run_load(
    send: SendFn,
    prompts: Sequence[Prompt],
    shape: LoadShape,
    *,
    stop: asyncio.Event | None = None,
    on_record: Callable[[RequestRecord, Progress], None] | None = None,
    on_start: Callable[[], Awaitable[None]] | None = None,
) -> RunResult:
    """Run ``prompts`` (cycled when a duration is set) under ``shape``; never raises on failures.

    ``on_start`` is awaited after the warm-up, right before the measured part's clock starts
    (the telemetry sampler takes its baseline there)."""
    errs = shape.validate()
    if errs:
        raise ValueError("; ".join(errs))
    stop = stop or asyncio.Event()
    records: list[RequestRecord] = []
    started_at = time.time()

    warmup_failed = 0
    if shape.warmup:
        warm = [prompts[i % len(prompts)] for i in range(shape.warmup)]
        lim = asyncio.Semaphore(shape.concurrency or len(warm))

        async def one(p: Prompt) -> RequestRecord:
            async with lim:
                return await send(p)

        warm_recs = await asyncio.gather(*(one(p) for p in warm))
        warmup_failed = sum(1 for r in warm_recs if not r.ok)
        if all(r.connect_error for r in warm_recs):
            return RunResult(
                [],
                0.0,
                partial=True,
                reason=f"server unreachable during warm-up: {warm_recs[0].error}",
                warmup_failed=warmup_failed,
                started_at=started_at,
            )

    total = None if shape.duration_s else len(prompts)
    progress = Progress(total=total)
    rng = random.Random(shape.seed)
    gaps = arrival_gaps(shape.request_rate, shape.burstiness, shape.constant_rate, rng)
    sem = asyncio.Semaphore(shape.concurrency) if shape.concurrency else None
    tasks: set[asyncio.Task] = set()
    reason: list[str] = []
    gone = asyncio.Event()
    source = itertools.cycle(prompts) if shape.duration_s else iter(prompts)

    async def worker(p: Prompt) -> None:
        try:
            rec = await send(p)
        finally:
            if sem is not None:
                sem.release()
            progress.in_flight -= 1
        records.append(rec)
        if rec.ok:
            progress.completed += 1
            progress.output_tokens += rec.output_tokens()
        else:
            progress.failed += 1
            if rec.connect_error and not gone.is_set():
                reason.append(f"server stopped answering: {rec.error}")
                gone.set()
        if on_record is not None:
            on_record(rec, progress)

    loop = asyncio.get_running_loop()
    if on_start is not None:
        await on_start()
    t0 = time.perf_counter()
    progress.t0 = t0
    deadline = t0 + shape.duration_s if shape.duration_s else math.inf
    next_at = loop.time()
    stopper = asyncio.ensure_future(_first(stop, gone))
    try:
        for p in source:
            next_at += next(gaps)
            delay = next_at - loop.time()
            if delay > 0 and await _wait(stopper, delay):
                break
            if sem is not None:
                acquire = asyncio.ensure_future(sem.acquire())
                done, _ = await asyncio.wait(
                    {acquire, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                if acquire not in done:
                    acquire.cancel()
                    break
            if stopper.done() or time.perf_counter() >= deadline:
                if sem is not None:
                    sem.release()
                break
            progress.sent += 1
            progress.in_flight += 1
            task = asyncio.ensure_future(worker(p))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        while tasks and not stopper.done():
            await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        stop.set()
    cancelled = 0
    if tasks:
        cancelled = len(tasks)
        for t in list(tasks):
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if gone.is_set():
            cancelled = 0  # their failures are already recorded
    stopper.cancel()
    end = max((r.end for r in records), default=time.perf_counter())
    duration = max(end - t0, 0.0)
    partial = stop.is_set() or gone.is_set()
    if stop.is_set() and not reason:
        reason.append("stopped by the user")
    return RunResult(
        records,
        duration,
        partial=partial,
        reason=reason[0] if reason else None,
        cancelled=cancelled,
        warmup_failed=warmup_failed,
        started_at=started_at,
        t0=t0,
    )


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _wait(stopper: asyncio.Future, delay: float) -> bool:
    """Sleep ``delay`` s; True if the run was stopped meanwhile."""
    done, _ = await asyncio.wait({stopper}, timeout=delay)
    return bool(done)
