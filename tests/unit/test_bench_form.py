"""The Load test form without Textual: parsing, field-by-field errors, presets, targets, and
that every `llmops bench` option has a field."""

from __future__ import annotations

import argparse
import asyncio
import math
from types import SimpleNamespace

import pytest
from bench_fakes import FakeStreams

from llmops_tui.bench.form import FormError, target_choices
from llmops_tui.bench.plan import TEXT_FIELDS, build_plan, preset_values
from llmops_tui.bench.report import compare_rows, goodput_text
from llmops_tui.bench.session import Target, execute
from llmops_tui.bench.store import ResultStore
from llmops_tui.bench.workload import SCENARIOS
from llmops_tui.config import paths


def plan_of(values):
    got = build_plan(values)
    assert not isinstance(got, list), got
    return got


def errors_of(values):
    """Field → message, in the order reported."""
    got = build_plan(values)
    assert isinstance(got, list), got
    return {e.field: e.message for e in got}


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


def test_form_parses_into_target_workload_load_shape_and_slos():
    plan = plan_of(
        FORM
        | {
            "burstiness": "0.5",
            "warmup": "3",
            "seed": "7",
            "slo_ttft": "200",
            "slo_tpot": "12.5",
            "timeout": "30",
            "label": "  baseline ",
            "range_ratio": "0.25",
            "constant_rate": True,
        }
    )
    t, spec, shape = plan.target, plan.spec, plan.shape
    assert (t.base_url, t.model) == ("http://127.0.0.1:8000", "m")
    assert (spec.endpoint, spec.num_requests, spec.input_len, spec.output_len) == (
        "chat",
        50,
        128,
        64,
    )
    assert spec.ignore_eos is False and spec.seed == 7 and spec.range_ratio == 0.25
    assert spec.prefix_len == 64  # half the input by default, like the CLI
    assert shape.concurrency is None and shape.request_rate == 4.5
    assert (shape.burstiness, shape.warmup, shape.seed, shape.constant_rate) == (0.5, 3, 7, True)
    assert (plan.slo.ttft_ms, plan.slo.tpot_ms, plan.slo.e2el_ms) == (200.0, 12.5, None)
    assert plan.timeout == 30.0 and plan.label == "baseline"
    plan = plan_of(FORM | {"request_rate": "", "concurrency": "8"})
    assert math.isinf(plan.shape.request_rate) and plan.shape.concurrency == 8
    assert not plan.slo.any and plan.timeout == 600.0


def test_every_bad_field_gets_its_own_message_in_form_order():
    by = errors_of(
        FORM
        | {
            "base_url": "localhost:8000",
            "model": "",
            "input_len": "0",
            "request_rate": "fast",
            "slo_ttft": "-5",
            "slo_tpot": "abc",
            "burstiness": "0",
            "warmup": "-1",
            "range_ratio": "1.5",
            "duration": "inf",
        }
    )
    assert list(by) == [
        "base_url",
        "model",
        "input_len",
        "range_ratio",
        "duration",
        "request_rate",
        "burstiness",
        "warmup",
        "slo_ttft",
        "slo_tpot",
    ]
    assert by["base_url"] == "expected http://host:port, got 'localhost:8000'"
    assert by["input_len"] == "expected a number ≥ 1, got 0"
    assert by["request_rate"] == "expected a number, got 'fast'"
    assert by["slo_ttft"] == "expected a number > 0, got -5"
    assert by["slo_tpot"] == "expected a number, got 'abc'"
    assert by["warmup"] == "expected a number ≥ 0, got -1"
    assert by["range_ratio"] == "expected a number in [0, 1), got 1.5"
    assert by["duration"] == "expected a finite number, got 'inf'"
    first = build_plan(FORM | {"base_url": "localhost:8000"})[0]
    assert first.as_flag() == "--base-url: expected http://host:port, got 'localhost:8000'"


def test_requests_or_duration_and_cross_field_rules():
    by = errors_of(FORM | {"num_requests": "", "output_len": ""})
    assert by == {
        "output_len": "required",
        "num_requests": "give a number of requests or a duration",
    }
    plan = plan_of(FORM | {"num_requests": "", "duration": "30"})
    assert plan.shape.duration_s == 30.0 and plan.spec.num_requests == 1000
    by = errors_of(FORM | {"dataset": "shared-prefix", "prefix_len": "128"})
    assert list(by) == ["prefix_len"]
    assert "between 1 and input_len-1 (127)" in by["prefix_len"]
    # a cross-field rule is not reported on top of a field that did not parse
    by = errors_of(FORM | {"dataset": "shared-prefix", "prefix_len": "128", "input_len": "x"})
    assert list(by) == ["input_len"]


def test_api_key_env_must_name_a_set_variable(monkeypatch):
    monkeypatch.delenv("LT_TEST_KEY", raising=False)
    by = errors_of(FORM | {"api_key_env": "LT_TEST_KEY"})
    assert by == {"api_key_env": "$LT_TEST_KEY is not set in this environment"}
    by = errors_of(FORM | {"api_key_env": "sk-123 abc"})
    assert "environment variable name" in by["api_key_env"]
    monkeypatch.setenv("LT_TEST_KEY", "secret")
    assert plan_of(FORM | {"api_key_env": "LT_TEST_KEY"}).target.api_key_env == "LT_TEST_KEY"


def test_profile_target_and_its_errors():
    plan = plan_of(FORM | {"profile": "tiny-vllm-cpu", "base_url": "", "model": ""})
    assert plan.target.base_url == "http://127.0.0.1:8100" and plan.target.model == "tiny-llama"
    assert plan.target.profile == "tiny-vllm-cpu" and plan.target.engine == "vllm"
    by = errors_of(FORM | {"profile": "nope"})
    assert list(by) == ["profile"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_preset_fills_a_form_that_parses_to_the_preset(name):
    values = FORM | preset_values(name)
    plan = plan_of(values)
    preset = SCENARIOS[name]
    got = {
        "concurrency": plan.shape.concurrency,
        "input_len": plan.spec.input_len,
        "output_len": plan.spec.output_len,
        "num_requests": plan.spec.num_requests,
        "endpoint": plan.spec.endpoint,
        "dataset": plan.spec.dataset,
        "num_prefixes": plan.spec.num_prefixes,
        "prefix_len": plan.spec.prefix_len,
    }
    assert {k: got[k] for k in preset} == preset
    assert math.isinf(plan.shape.request_rate) and plan.shape.duration_s is None


def test_presets_reset_what_the_previous_one_set():
    after_shared = FORM | preset_values("shared-prefix")
    after_both = after_shared | {"request_rate": "3"} | preset_values("sequential-short")
    assert after_both["dataset"] == "random" and after_both["endpoint"] == "completions"
    assert after_both["prefix_len"] == "" and after_both["request_rate"] == ""
    with pytest.raises(KeyError, match="no preset 'rag'"):
        preset_values("rag")


def test_every_cli_option_has_a_field():
    """`llmops bench` options → the form's fields; options with no field say why."""
    from llmops_tui.commands import bench_cmd

    parser = argparse.ArgumentParser()
    bench_cmd.register(parser.add_subparsers())
    bench = parser._subparsers._group_actions[0].choices["bench"]
    dests = {a.dest for a in bench._actions if a.option_strings and a.dest != "help"}
    renamed = {"profile": "profile", "scenario": "preset", "ignore_eos": "ignore_eos"}
    no_field = {
        "json": "History: e exports a run (JSON + CSV)",
        "csv": "History: e exports a run (JSON + CSV)",
        "no_save": "the tab always keeps its runs",
        "quiet": "the tab shows progress",
        "constant_rate": "a checkbox",
        "no_telemetry": "the tab always samples the engine (its plots need it)",
    }
    fields = {*TEXT_FIELDS, "endpoint", "dataset", "ignore_eos", "constant_rate", "profile"}
    fields |= {"preset"}
    missing = sorted(d for d in dests if renamed.get(d, d) not in fields and d not in no_field)
    assert missing == []


def test_target_choices_put_running_engines_first_at_their_real_address():
    profiles = [
        SimpleNamespace(name="a", host="0.0.0.0", port=8000, model_name="ma", engine="vllm"),
        SimpleNamespace(name="b", host="127.0.0.1", port=30000, model_name="mb", engine="sglang"),
    ]
    records = [
        SimpleNamespace(
            name="b",
            phase="ready",
            base_url="http://127.0.0.1:30123",
            served_model_name="mb",
            engine="sglang",
        ),
        SimpleNamespace(
            name="gone",
            phase="ready",
            base_url="http://127.0.0.1:9",
            served_model_name="x",
            engine="tgi",
        ),
        SimpleNamespace(
            name="a",
            phase="starting",
            base_url="http://127.0.0.1:8001",
            served_model_name="ma",
            engine="vllm",
        ),
    ]
    got = target_choices(lambda: records, lambda: profiles)
    assert [(c.name, c.base_url, c.running) for c in got] == [
        ("b", "http://127.0.0.1:30123", True),
        ("gone", "http://127.0.0.1:9", True),
        ("a", "http://127.0.0.1:8000", False),
    ]
    assert got[0].label == "● b (up)" and got[2].label == "a"

    def broken():
        raise PermissionError("state dir")

    assert [c.running for c in target_choices(broken, lambda: profiles)] == [False, False]


def _run(slo_ttft=None, stop_after=None, n=10, hold=0.0):
    from llmops_tui.bench.metrics import SLO
    from llmops_tui.bench.runner import LoadShape
    from llmops_tui.bench.workload import WorkloadSpec

    fake = FakeStreams(hold_s=hold)
    stop = asyncio.Event()

    def on_record(rec, progress):
        if stop_after is not None and progress.done >= stop_after:
            stop.set()

    async def main():
        return await execute(
            Target("http://fake", "fake-model", engine="vllm"),
            WorkloadSpec(num_requests=n, input_len=8, output_len=5),
            LoadShape(concurrency=2),
            slo=SLO(ttft_ms=slo_ttft),
            stop=stop,
            on_record=on_record,
            store=ResultStore(paths().results_db),
            sender_factory=fake,
        )

    return asyncio.run(main()), fake


def test_execute_with_a_sender_factory_stores_goodput():
    outcome, fake = _run(slo_ttft=100.0)
    assert fake.models == ["fake-model"] and len(fake.prompts) == 10
    s = outcome.summary
    assert s["completed"] == 10
    # every 2nd request has a 300 ms TTFT: half meet a 100 ms SLO
    assert s["goodput"] == pytest.approx(s["request_throughput"] / 2)
    stored = ResultStore(paths().results_db).get(outcome.run_id)
    assert stored.summary["goodput"] == pytest.approx(s["goodput"])
    assert stored.summary["slo"] == {"ttft_ms": 100.0, "tpot_ms": None, "e2el_ms": None}
    assert "(50 % of completed requests) meeting TTFT≤100 ms" in goodput_text(stored.summary)
    _, rows = compare_rows([stored, stored])
    table = {r[0]: r[1:] for r in rows}
    assert table["engine"] == ["vllm", "vllm"]
    assert table["SLOs"] == ["TTFT≤100", "TTFT≤100"]
    assert table["goodput (req/s)"][0] == f"{s['goodput']:.2f}"


def test_a_run_stopped_midway_is_stored_partial_with_what_finished():
    outcome, _ = _run(stop_after=4, n=200, hold=0.01)
    stored = ResultStore(paths().results_db).get(outcome.run_id, with_requests=True)
    assert stored.partial and stored.reason == "stopped by the user"
    assert 4 <= stored.summary["completed"] < 200
    assert len(stored.requests) == stored.summary["completed"] + stored.summary["failed"]
    assert goodput_text(stored.summary) is None  # no SLO given: no goodput line


def test_bakeoff_form_matches_the_cli_options(tmp_path):
    from llmops_tui.bench.form import parse_bakeoff_form

    plan = parse_bakeoff_form(["a", "b"], "tiny", str(tmp_path / "out"), "")
    assert (plan.profiles, plan.suite, plan.out_dir, plan.ready_timeout) == (
        ["a", "b"],
        "tiny",
        tmp_path / "out",
        900.0,
    )
    assert parse_bakeoff_form(["a"], "tiny", "", "60").out_dir is None
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    with pytest.raises(FormError) as exc:
        parse_bakeoff_form([], None, str(a_file), "soon")
    assert exc.value.by_field == {
        "profiles": "tick at least one profile",
        "suite": "pick a suite",
        "out_dir": f"{a_file} exists and is not a folder",
        "ready_timeout": "expected a number of seconds > 0, got 'soon'",
    }
