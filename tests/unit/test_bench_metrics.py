"""Metric maths on hand-made request records (vllm bench serve definitions)."""

from __future__ import annotations

import math

import pytest

from llmops_tui.bench.metrics import SLO, distribution, percentile, summarize, tpot
from llmops_tui.client.records import RequestRecord


def rec(start, chunk_times, end, prompt=10, completion=None, error=None, status=200):
    r = RequestRecord(start=start, end=end, status=status, error=error, prompt_tokens=prompt)
    r.chunk_times = list(chunk_times)
    r.first_token = chunk_times[0] if chunk_times else None
    r.completion_tokens = len(chunk_times) if completion is None else completion
    r.token_source = "usage"
    return r


def test_percentile_matches_numpy_linear_interpolation():
    xs = [1.0, 2.0, 3.0, 4.0]
    # numpy.percentile([1,2,3,4], [50, 90, 99]) == [2.5, 3.7, 3.97]
    assert percentile(xs, 50) == pytest.approx(2.5)
    assert percentile(xs, 90) == pytest.approx(3.7)
    assert percentile(xs, 99) == pytest.approx(3.97)
    assert percentile([5.0], 99) == 5.0
    assert math.isnan(percentile([], 50))


def test_distribution_mean_and_population_std_in_ms():
    d = distribution([0.001, 0.002, 0.003, 0.004])
    assert d["mean"] == pytest.approx(2.5)
    assert d["std"] == pytest.approx(math.sqrt(1.25))  # numpy std, ddof=0
    assert (d["min"], d["max"]) == pytest.approx((1.0, 4.0))
    assert d["p50"] == pytest.approx(2.5)


def test_tpot_excludes_the_first_token():
    r = rec(0.0, [0.1, 0.2, 0.3, 0.4, 0.5], 0.5)
    assert tpot(r) == pytest.approx((0.5 - 0.1) / 4)
    assert tpot(rec(0.0, [0.1], 0.1)) is None  # one token: no TPOT


def test_summary_on_hand_made_records():
    records = [
        # TTFT 100 ms, 3 tokens, ITL 50 ms, 20 ms; E2E 200 ms; TPOT (200-100)/2 = 50 ms
        rec(0.0, [0.10, 0.15, 0.17], 0.20, prompt=10, completion=3),
        # TTFT 300 ms, 2 tokens, ITL 100 ms; E2E 500 ms; TPOT (500-300)/1 = 200 ms
        rec(1.0, [1.30, 1.40], 1.50, prompt=20, completion=2),
        rec(2.0, [], 2.01, error="HTTP 500: boom", status=500),
    ]
    s = summarize(records, duration_s=2.0)
    assert (s["completed"], s["failed"]) == (2, 1)
    assert s["total_input_tokens"] == 30 and s["total_output_tokens"] == 5
    assert s["request_throughput"] == pytest.approx(1.0)
    assert s["output_throughput"] == pytest.approx(2.5)
    assert s["total_token_throughput"] == pytest.approx(17.5)
    assert s["ttft_ms"]["mean"] == pytest.approx(200.0)
    assert s["ttft_ms"]["p50"] == pytest.approx(200.0)
    assert s["ttft_ms"]["p99"] == pytest.approx(100 + 200 * 0.99)
    assert s["tpot_ms"]["mean"] == pytest.approx(125.0)
    assert (s["itl_ms"]["min"], s["itl_ms"]["max"]) == pytest.approx((20.0, 100.0))
    assert s["itl_ms"]["mean"] == pytest.approx(170 / 3)
    assert s["itl_ms"]["p50"] == pytest.approx(50.0)
    assert s["e2el_ms"]["mean"] == pytest.approx(350.0)
    assert s["errors"] == {"HTTP 500: boom": 1}
    assert "goodput" not in s


def test_goodput_counts_requests_meeting_every_slo():
    records = [
        rec(0.0, [0.05, 0.06, 0.07], 0.07),  # TTFT 50, TPOT 10, E2E 70
        rec(0.0, [0.30, 0.31], 0.31),  # TTFT 300: misses the TTFT SLO
        rec(0.0, [0.05, 0.5], 0.5),  # TPOT 450: misses the TPOT SLO
    ]
    s = summarize(records, 1.0, SLO(ttft_ms=100, tpot_ms=50))
    assert s["goodput"] == pytest.approx(1.0)
    s = summarize(records, 2.0, SLO(e2el_ms=400))
    assert s["goodput"] == pytest.approx(1.0)  # 2 of 3 within 400 ms, over 2 s


def test_output_tokens_fall_back_to_chunk_count():
    r = rec(0.0, [0.1, 0.2, 0.3], 0.3)
    r.completion_tokens = None
    assert summarize([r], 1.0)["total_output_tokens"] == 3


def test_empty_run_has_nan_latencies_and_zero_counts():
    s = summarize([], 0.0)
    assert s["completed"] == 0 and s["failed"] == 0
    assert math.isnan(s["ttft_ms"]["p50"])
