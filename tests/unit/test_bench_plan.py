"""One plan builder for `llmops bench` and the Load test form: the same values give equal
plans on both surfaces (with a preset, and a preset overridden), the CLI names bad values
by flag, and runs stored with the old `max_concurrency` key still read."""

from __future__ import annotations

import json
import math

import pytest

from llmops_tui.bench.plan import RunPlan, build_plan, preset_values
from llmops_tui.bench.report import compare_rows
from llmops_tui.bench.store import ResultStore
from llmops_tui.cli import build_parser, main
from llmops_tui.commands.bench_cmd import plan_from_args
from llmops_tui.config import paths

TARGET = ["--base-url", "http://127.0.0.1:8000", "--model", "m"]
# What the form holds untouched (blank = the default), as LoadTestForm.values() gives it.
BLANK_FORM = {
    "profile": "",
    "base_url": "http://127.0.0.1:8000",
    "model": "m",
    "endpoint": "completions",
    "dataset": "random",
    "api_key_env": "",
    "preset": "",
    "ignore_eos": False,
    "constant_rate": False,
}


def cli_plan(*argv: str) -> RunPlan:
    args = build_parser("bench_cmd").parse_args(["bench", *TARGET, *argv])
    plan = plan_from_args(args)
    assert isinstance(plan, RunPlan), plan
    return plan


def form_plan(values: dict) -> RunPlan:
    plan = build_plan(BLANK_FORM | values)
    assert isinstance(plan, RunPlan), plan
    return plan


def test_the_cli_and_the_form_build_equal_plans_from_the_same_values():
    argv = (
        "--input-len", "128", "--output-len", "32", "--num-requests", "40", "--concurrency", "4",
        "--request-rate", "2.5", "--burstiness", "0.5", "--seed", "7", "--warmup", "2",
        "--slo-ttft", "200", "--timeout", "30", "--endpoint", "chat", "--ignore-eos",
        "--label", "base",
    )  # fmt: skip
    form = {
        "input_len": "128", "output_len": "32", "num_requests": "40", "concurrency": "4",
        "request_rate": "2.5", "burstiness": "0.5", "seed": "7", "warmup": "2",
        "slo_ttft": "200", "timeout": "30", "endpoint": "chat", "ignore_eos": True,
        "label": "base",
    }  # fmt: skip
    plan = cli_plan(*argv)
    assert plan == form_plan(form)
    assert (plan.shape.concurrency, plan.shape.request_rate, plan.spec.prefix_len) == (4, 2.5, 64)
    assert (plan.slo.ttft_ms, plan.timeout, plan.label) == (200.0, 30.0, "base")
    # and both differ when a value differs: the comparison sees the fields
    assert cli_plan(*argv, "--seed", "8") != form_plan(form)


@pytest.mark.parametrize("name", ["chat", "shared-prefix", "sequential-short"])
def test_a_preset_gives_equal_plans_and_an_explicit_value_wins(name):
    # The form: pick the preset (its values fill the fields), the plan is built from them.
    assert cli_plan("--scenario", name) == form_plan(preset_values(name))
    plan = cli_plan("--scenario", name, "--concurrency", "3", "--output-len", "7")
    # The form: pick the preset, then edit two fields.
    edited = preset_values(name) | {"concurrency": "3", "output_len": "7"}
    assert plan == form_plan(edited)
    assert (plan.shape.concurrency, plan.spec.output_len) == (3, 7)
    assert plan.spec.input_len == int(preset_values(name)["input_len"])  # the rest: the preset's
    assert math.isinf(plan.shape.request_rate)


def test_a_preset_passed_to_the_builder_fills_only_what_is_blank():
    values = BLANK_FORM | {"concurrency": "3", "input_len": "", "endpoint": ""}
    plan = build_plan(values, preset="chat")
    assert isinstance(plan, RunPlan)
    assert (plan.shape.concurrency, plan.spec.input_len, plan.spec.endpoint) == (3, 256, "chat")
    plan = build_plan(values | {"endpoint": "completions"}, preset="chat")
    assert plan.spec.endpoint == "completions"  # given: it wins over the preset's "chat"


def test_cli_bad_values_are_named_by_flag(capsys):
    argv = ["bench", *TARGET, "--input-len", "8", "--output-len", "8", "--num-requests", "5"]
    assert main([*argv, "--concurrency", "0", "--request-rate", "fast"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "llmops bench: --concurrency: expected a number ≥ 1, got 0",
        "llmops bench: --request-rate: expected a number, got 'fast'",
    ]
    assert main(["bench", "--input-len", "x", "--model", "m"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "llmops bench: --base-url: required (or a profile)",
        "llmops bench: --input-len: expected a whole number, got 'x'",
        "llmops bench: --output-len: required",
        "llmops bench: --num-requests: give a number of requests or a duration",
    ]
    # a cross-field rule, found by WorkloadSpec.validate, is named by flag too
    bad_prefix = ["--dataset", "shared-prefix", "--prefix-len", "8"]
    assert main([*argv, *bad_prefix]) == 2
    assert capsys.readouterr().err.startswith("llmops bench: --prefix-len: 8 must be between 1")


def test_request_rate_inf_means_all_at_once_on_both_surfaces():
    base = ("--input-len", "8", "--output-len", "8", "--num-requests", "5")
    assert math.isinf(cli_plan(*base, "--request-rate", "inf").shape.request_rate)
    plan = form_plan({"input_len": "8", "output_len": "8", "num_requests": "5"})
    assert plan == cli_plan(*base, "--request-rate", "inf")


def test_a_run_stored_with_the_old_max_concurrency_key_still_reads(capsys):
    store = ResultStore(paths().results_db)
    common = dict(
        target={"base_url": "http://127.0.0.1:1", "model": "m"},
        workload={"endpoint": "completions", "input_len": 8, "output_len": 3},
        summary={"completed": 1, "failed": 0, "output_throughput": 1.0},
        requests=[],
    )
    old = store.save(load={"max_concurrency": 6, "request_rate": None}, **common)
    new = store.save(load={"concurrency": 9, "request_rate": None}, **common)
    runs = {r.id: r for r in store.list_runs()}
    assert runs[old].load == {"concurrency": 6, "request_rate": None}
    assert store.get(new).load["concurrency"] == 9
    _, rows = compare_rows([store.get(old), store.get(new)])
    assert {r[0]: r[1:] for r in rows}["concurrency"] == ["6", "9"]
    assert main(["bench", "runs", "--json"]) == 0
    listed = {r["id"]: r["load"] for r in json.loads(capsys.readouterr().out)}
    assert listed[old]["concurrency"] == 6 and "max_concurrency" not in listed[old]


def test_a_new_run_writes_concurrency():
    from llmops_tui.bench.runner import LoadShape

    assert LoadShape(concurrency=5).describe()["concurrency"] == 5
    assert "max_concurrency" not in LoadShape().describe()


def test_a_kept_run_file_with_the_old_key_imports_and_reads_as_concurrency(tmp_path, capsys):
    from llmops_tui.bench.fallback import FORMAT

    kept = tmp_path / "run-old.json"
    kept.write_text(
        json.dumps(
            {
                "format": FORMAT,
                "target": {"base_url": "http://127.0.0.1:1", "model": "m"},
                "workload": {"endpoint": "completions", "input_len": 8, "output_len": 3},
                "load": {"max_concurrency": 12, "request_rate": None},
                "summary": {"completed": 1, "failed": 0},
                "requests": [],
            }
        )
    )
    assert main(["bench", "import", str(kept)]) == 0
    assert "stored as run #" in capsys.readouterr().out
    (run,) = ResultStore(paths().results_db).list_runs()
    assert run.load["concurrency"] == 12
    assert main(["bench", "runs"]) == 0
    row = capsys.readouterr().out.splitlines()[1].split()
    assert row[0] == str(run.id) and "12" in row


@pytest.mark.parametrize(
    "argv",
    [
        ["bakeoff", "p", "--ready-timeout", "0"],
        ["bench", "sweep", "--input-len", "8", "--output-len", "8", "--start", "-1"],
    ],
)
def test_commands_share_the_positive_number_type(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "expected a number > 0, got" in capsys.readouterr().err
