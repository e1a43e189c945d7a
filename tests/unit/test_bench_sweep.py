"""Sweeps with a fake step runner: the ladder, saturation signals, error limits, SLOs,
and the report files (table, text plot, SVG)."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest

from llmops_tui.bench.metrics import SLO
from llmops_tui.bench.runner import LoadShape
from llmops_tui.bench.sweep import SweepPlan, run_sweep
from llmops_tui.bench.sweep_report import table, text_plot, write_report
from llmops_tui.cli import main


def fake_server(capacity: float, per_stream_tps: float = 100.0, fail_from: float = math.inf):
    """Throughput grows with load up to ``capacity`` tok/s; past it, requests queue: TTFT and
    the engine's queue grow while throughput stays flat."""
    calls = []

    async def run_step(load, shape, n):
        calls.append((load, shape, n))
        tput = min(load * per_stream_tps, capacity)
        excess = max(0.0, load * per_stream_tps / capacity - 1)
        ttft = 20.0 * (1 + excess)
        failed = n if load >= fail_from else 0
        dist = lambda v: {"p50": v, "p90": v, "p95": v, "p99": v * 1.2}  # noqa: E731
        s = {
            "completed": n - failed,
            "failed": failed,
            "output_throughput": tput,
            "request_throughput": tput / 100,
            "goodput": tput / 200,
            "ttft_ms": dist(ttft),
            "tpot_ms": dist(10.0),
            "e2el_ms": dist(ttft + 1000),
            "telemetry": {"waiting_mean": excess * load, "waiting_peak": excess * load},
        }
        return s, len(calls), False

    return run_step, calls


async def test_ladder_doubles_and_stops_at_saturation_naming_the_signals():
    run_step, calls = fake_server(capacity=800)
    res = await run_sweep(SweepPlan(start=1, max_load=256), LoadShape(warmup=3), run_step)
    assert [c[0] for c in calls] == [1, 2, 4, 8, 16]  # 16 is the first step past capacity
    assert res.saturation.load == 16
    assert "TTFT p50 20.0 → 40.0 ms" in res.signal and "engine queue mean" in res.signal
    assert "output tok/s +0 % of the best before" in res.signal
    assert calls[0][1].warmup == 3 and calls[1][1].warmup == 0
    assert calls[2][1].concurrency == 4 and calls[2][2] == 16  # 4 × concurrency
    assert "saturated at concurrency 16" in res.answer()
    assert res.best_under_slo is None  # no SLO given


async def test_the_saturated_step_is_not_the_answer_even_if_it_meets_the_slo():
    run_step, _ = fake_server(capacity=800)
    res = await run_sweep(
        SweepPlan(start=2, max_load=64, slo=SLO(ttft_ms=1e6)), LoadShape(), run_step
    )
    assert res.saturation.load == 16 and res.steps[-1].meets_slo
    assert res.best_under_slo.load == 8


async def test_highest_load_meeting_the_slo_and_its_goodput():
    run_step, _ = fake_server(capacity=800)
    plan = SweepPlan(loads=[1, 4, 8, 12, 16], slo=SLO(ttft_ms=30), slo_percentile=99)
    res = await run_sweep(plan, LoadShape(), run_step)
    # p99 = 1.2 × p50: 24 ms up to capacity (8), 36 ms at 12
    assert [s.meets_slo for s in res.steps] == [True, True, True, False]
    assert res.best_under_slo.load == 8
    assert res.answer().startswith(
        "highest load meeting TTFT p99 ≤ 30 ms: concurrency 8, goodput 4.00 req/s"
    )


async def test_errors_over_the_limit_stop_the_sweep_and_no_slo_met_is_said():
    run_step, calls = fake_server(capacity=1e9, fail_from=4)
    plan = SweepPlan(axis="rate", start=1, max_load=64, slo=SLO(ttft_ms=1))
    res = await run_sweep(plan, LoadShape(), run_step)
    assert [c[0] for c in calls] == [1, 2, 4]
    assert calls[0][1].request_rate == 1 and calls[0][2] == 16  # 10 s × rate, at least 16
    assert res.stopped == "stopped at 4 req/s: 100 % of requests failed (limit 5 %)"
    assert "no load met TTFT p99 ≤ 1 ms at the lowest load, 1 req/s (TTFT p99 24.0 ms > 1)" in (
        res.answer()
    )


def test_bad_plans_are_refused_with_the_field():
    assert SweepPlan(loads=[1.5]).validate() == ["concurrency: 1.5 is not a whole number"]
    assert "slo percentile" in SweepPlan(slo_percentile=42).validate()[0]
    assert "ladder: start 8" in SweepPlan(start=8, max_load=4).validate()[0]


async def test_report_files_hold_the_table_plot_and_answer(tmp_path):
    run_step, _ = fake_server(capacity=800)
    res = await run_sweep(SweepPlan(start=2, max_load=64), LoadShape(), run_step)
    md, js, svg = write_report(res, tmp_path / "rep", "m @ x")
    assert "saturated at concurrency 16" in md.read_text()
    assert json.loads(js.read_text())["saturation"] == 16
    root = ET.fromstring(svg.read_text())  # well-formed
    assert len(root.findall("{http://www.w3.org/2000/svg}circle")) == len(res.steps)
    plot = text_plot(res)
    assert "steps: 1=concurrency 2" in plot and plot.count("\n") > 10
    assert table(res).splitlines()[0].split()[0] == "concurrency"


def test_cli_refuses_bad_lists_and_missing_target(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "sweep", "--concurrency", "1,x", "--input-len", "8", "--output-len", "8"])
    assert "expected numbers separated by commas" in capsys.readouterr().err
    rc = main(["bench", "sweep", "--input-len", "8", "--output-len", "8"])
    err = capsys.readouterr().err
    assert rc == 2 and "--base-url: required (or a profile)" in err and "--model: required" in err


async def test_a_bakeoff_sweep_scenario_reports_the_answering_step(monkeypatch):
    from types import SimpleNamespace

    from llmops_tui.bench import bakeoff as bk
    from llmops_tui.bench.bakeoff_report import sweep_lines
    from llmops_tui.bench.bakeoff_results import EngineResult, ScenarioResult
    from llmops_tui.bench.session import Target
    from llmops_tui.bench.suite import parse_suite

    suite = parse_suite(
        "name = 's'\n[[scenario]]\nname = 'cap'\ninput_len = 8\noutput_len = 8\n"
        "num_requests = 12\nsweep = [1, 2, 4, 8, 16]\nslo_ttft_ms = 30\n"
    )
    run_step, calls = fake_server(capacity=800)

    async def fake_execute(target, spec, shape, **kw):
        s, run_id, partial = await run_step(shape.concurrency, shape, spec.num_requests)
        result = SimpleNamespace(partial=partial)
        return SimpleNamespace(summary=s, run_id=run_id, result=result, saved=None)

    monkeypatch.setattr(bk, "execute", fake_execute)
    b = bk.Bakeoff([], suite, supervisor=object())
    sc = suite.scenarios[0]
    summary, run_id, partial, _ = await b._sweep(sc, Target("http://x", "m", "p"), None, None)
    assert [c[0] for c in calls] == [1, 2, 4, 8, 16] and calls[0][2] == 12
    assert summary["sweep"]["shown"] == 8 and run_id == 4 and not partial
    assert "saturated at concurrency 16" in summary["sweep"]["answer"]
    er = EngineResult("p", "vllm", "m", status="ok")
    er.scenarios = [ScenarioResult("cap", sc.describe(), "complete", summary=summary)]
    b.result.engines = [er]
    (line,) = sweep_lines(b.result, "cap")
    assert line.startswith("p: highest load meeting TTFT p99 ≤ 30 ms: concurrency 8")


def test_suite_refuses_a_bad_sweep_with_its_line():
    from llmops_tui.bench.suite import SuiteError, parse_suite

    with pytest.raises(SuiteError) as exc:
        parse_suite(
            "name = 's'\n[[scenario]]\nname = 'cap'\ninput_len = 8\noutput_len = 8\n"
            "num_requests = 12\nsweep = [1, 0]\nslo_ttft_ms = -3\n"
        )
    text = str(exc.value)
    assert "<suite>:7: scenario[1].sweep: [1, 0] is not a list of concurrencies" in text
    assert "<suite>:8: scenario[1].slo_ttft_ms: -3 must be > 0" in text
