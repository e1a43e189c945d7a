"""Load shapes and the runner, with a fake sender (no network)."""

from __future__ import annotations

import asyncio
import math
import random
import statistics

import pytest

from llmops_tui.bench.runner import LoadShape, arrival_gaps, run_load
from llmops_tui.bench.workload import Prompt
from llmops_tui.client.records import RequestRecord

PROMPTS = [Prompt(f"p{i}", 4, 3) for i in range(40)]


def take(gen, n):
    return [next(gen) for _ in range(n)]


@pytest.mark.parametrize("rate", [2.0, 50.0, 1000.0])
def test_poisson_arrivals_mean_rate_within_tolerance(rate):
    gaps = take(arrival_gaps(rate, 1.0, rng=random.Random(42)), 20000)
    assert 1 / statistics.fmean(gaps) == pytest.approx(rate, rel=0.03)
    # exponential gaps: standard deviation equals the mean
    assert statistics.pstdev(gaps) == pytest.approx(statistics.fmean(gaps), rel=0.05)


@pytest.mark.parametrize("burstiness", [0.25, 4.0])
def test_burstiness_keeps_the_rate_and_changes_the_spread(burstiness):
    gaps = take(arrival_gaps(10.0, burstiness, rng=random.Random(7)), 20000)
    mean = statistics.fmean(gaps)
    assert 1 / mean == pytest.approx(10.0, rel=0.05)
    # gamma(k, θ): coefficient of variation = 1/sqrt(k)
    assert statistics.pstdev(gaps) / mean == pytest.approx(1 / math.sqrt(burstiness), rel=0.06)


def test_seeded_arrivals_repeat_and_constant_rate_is_even():
    a = take(arrival_gaps(5.0, rng=random.Random(1)), 10)
    b = take(arrival_gaps(5.0, rng=random.Random(1)), 10)
    assert a == b
    assert take(arrival_gaps(4.0, constant=True), 3) == [0.25, 0.25, 0.25]
    assert take(arrival_gaps(math.inf), 3) == [0.0, 0.0, 0.0]


def test_invalid_shapes_are_refused_with_the_field_named():
    errs = LoadShape(concurrency=0, request_rate=-1, burstiness=0).validate()
    assert any(e.startswith("concurrency") for e in errs)
    assert any(e.startswith("request_rate") for e in errs)
    assert any(e.startswith("burstiness") for e in errs)


class FakeServer:
    """A sender that takes ``delay`` s per request and tracks concurrency."""

    def __init__(self, delay=0.01, fail_on=(), die_after=None):
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = []
        self.fail_on = set(fail_on)
        self.die_after = die_after

    async def send(self, p: Prompt) -> RequestRecord:
        self.calls.append(p.text)
        n = len(self.calls)
        loop = asyncio.get_running_loop()
        r = RequestRecord(start=loop.time())
        if self.die_after is not None and n > self.die_after:
            r.error, r.connect_error, r.end = "cannot connect: refused", True, loop.time()
            return r
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        r.end = loop.time()
        r.first_token = r.end
        r.chunk_times = [r.end]
        if p.text in self.fail_on:
            r.status, r.error = 500, "HTTP 500: boom"
        else:
            r.status, r.completion_tokens, r.token_source = 200, 1, "usage"
        return r


async def test_concurrency_cap_is_respected_and_every_request_is_kept():
    srv = FakeServer(delay=0.005, fail_on={"p3"})
    res = await run_load(srv.send, PROMPTS, LoadShape(concurrency=4))
    assert srv.max_in_flight == 4
    assert len(res.records) == 40 and not res.partial
    assert sum(1 for r in res.records if not r.ok) == 1
    assert [r.error for r in res.records if not r.ok] == ["HTTP 500: boom"]


async def test_warmup_requests_are_sent_first_and_not_counted():
    srv = FakeServer(delay=0.001)
    res = await run_load(srv.send, PROMPTS[:10], LoadShape(concurrency=2, warmup=3))
    assert len(srv.calls) == 13
    assert len(res.records) == 10


async def test_stop_keeps_finished_requests_and_marks_the_run_partial():
    srv = FakeServer(delay=0.02)
    stop = asyncio.Event()
    seen = []

    def on_record(rec, progress):
        seen.append(rec)
        if progress.done == 6:
            stop.set()

    res = await run_load(
        srv.send, PROMPTS, LoadShape(concurrency=3), stop=stop, on_record=on_record
    )
    assert res.partial and res.reason == "stopped by the user"
    assert 6 <= len(res.records) < 40
    assert all(r.ok for r in res.records)
    assert res.cancelled >= 1  # in flight when stopped: not counted as completed nor failed
    assert len(srv.calls) == len(res.records) + res.cancelled


async def test_server_that_stops_answering_ends_the_run_partial():
    srv = FakeServer(delay=0.002, die_after=8)
    res = await run_load(srv.send, PROMPTS, LoadShape(concurrency=2))
    assert res.partial
    assert res.reason.startswith("server stopped answering")
    ok = [r for r in res.records if r.ok]
    failed = [r for r in res.records if not r.ok]
    assert len(ok) == 8 and 1 <= len(failed) <= 2
    assert len(srv.calls) < 40


async def test_request_rate_spaces_the_sends():
    srv = FakeServer(delay=0.0)
    shape = LoadShape(request_rate=200.0, constant_rate=True)
    res = await run_load(srv.send, PROMPTS[:21], shape)
    starts = sorted(r.start for r in res.records)
    assert starts[-1] - starts[0] == pytest.approx(0.1, abs=0.03)  # 20 gaps of 5 ms


async def test_duration_limit_cycles_prompts_and_stops_sending():
    srv = FakeServer(delay=0.001)
    res = await run_load(srv.send, PROMPTS[:3], LoadShape(concurrency=1, duration_s=0.1))
    assert len(res.records) > 3 and not res.partial
    assert res.duration_s < 0.5


async def test_unreachable_during_warmup_is_reported():
    srv = FakeServer(die_after=0)
    res = await run_load(srv.send, PROMPTS, LoadShape(warmup=2))
    assert res.partial and "warm-up" in res.reason and res.records == []
