"""The tab's plain helpers: live per-second series and the form parser."""

from __future__ import annotations

import math

import pytest

from llmops_tui.bench.live import LiveRun
from llmops_tui.bench.runner import Progress
from llmops_tui.bench.session import FormError, parse_form
from llmops_tui.client import RequestRecord

FORM = {
    "profile": "",
    "base_url": "http://127.0.0.1:8000",
    "model": "m",
    "endpoint": "chat",
    "dataset": "random",
    "num_requests": "50",
    "concurrency": "",
    "request_rate": "4.5",
    "input_len": "128",
    "output_len": "64",
    "ignore_eos": False,
}


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


def test_form_parses_into_target_workload_and_load_shape():
    target, spec, shape = parse_form(FORM)
    assert (target.base_url, target.model) == ("http://127.0.0.1:8000", "m")
    assert (spec.endpoint, spec.num_requests, spec.input_len, spec.output_len) == (
        "chat",
        50,
        128,
        64,
    )
    assert spec.ignore_eos is False
    assert shape.max_concurrency is None and shape.request_rate == 4.5
    _, _, shape = parse_form(FORM | {"request_rate": "", "concurrency": "8"})
    assert math.isinf(shape.request_rate) and shape.max_concurrency == 8


def test_form_errors_name_every_bad_field():
    with pytest.raises(FormError) as exc:
        parse_form(
            FORM
            | {"base_url": "localhost:8000", "model": "", "input_len": "0", "request_rate": "fast"}
        )
    fields = [e.split(":")[0] for e in exc.value.errors]
    assert fields == ["base_url", "model", "request_rate", "input_len"]


def test_form_with_a_profile_takes_its_address_and_model():
    target, _, _ = parse_form(FORM | {"profile": "tiny-vllm-cpu", "base_url": "", "model": ""})
    assert target.base_url == "http://127.0.0.1:8000" and target.model == "tiny-llama"
    assert target.profile == "tiny-vllm-cpu" and target.engine == "vllm"
    with pytest.raises(FormError) as exc:
        parse_form(FORM | {"profile": "nope"})
    assert exc.value.errors[0].startswith("profile:")
