"""The tab's plain helpers: live per-second series (the form parser: test_bench_form.py)."""

from __future__ import annotations

import pytest

from llmops_tui.bench.live import LiveRun
from llmops_tui.bench.runner import Progress
from llmops_tui.client.records import RequestRecord


def test_live_bins_tokens_by_arrival_second_and_ttft_by_start_second():
    live = LiveRun(bucket_s=1.0)
    a = RequestRecord(start=0.2, first_token=0.5, end=1.6, status=200)
    a.chunk_times = [0.5, 0.9, 1.2, 1.6]
    b = RequestRecord(start=1.1, first_token=1.4, end=2.5, status=200)
    b.chunk_times = [1.4, 2.5]
    live.on_record(a, Progress(total=3, completed=1, t0=0.0))
    live.on_record(b, Progress(total=3, completed=2, in_flight=1, t0=0.0))
    assert live.throughput() == []  # nothing binned until the UI refreshes
    live.refresh()
    assert live.throughput() == [2.0, 3.0, 1.0]
    assert live.ttft_ms() == pytest.approx([300.0, 300.0, 300.0])
    assert live.done == 2 and "2/3 done · 0 failed · 1 in flight" in live.status_line()
