"""Bake-off report maths and files from hand-made results: best-value selection,
CSV/JSON/Markdown contents, text plots, prefix-hit-rate deltas."""

from __future__ import annotations

import csv
import json
import math

import pytest

from llmops_tui.bench.bakeoff_report import (
    HIGHER,
    LOWER,
    bar,
    best_indices,
    csv_rows,
    format_markdown,
    format_report,
    format_scenario_table,
    metric_value,
    plot_throughput,
    plot_ttft,
    report_json,
    scenario_table,
    write_report_files,
)
from llmops_tui.bench.bakeoff_results import BakeoffResult, EngineResult, ScenarioResult
from llmops_tui.bench.bakeoff_sampling import prefix_hit_rate_delta, steady_value
from llmops_tui.bench.suite import find_suite


def dist(mean: float, p50: float, p99: float, p90: float | None = None) -> dict[str, float]:
    return {"mean": mean, "p50": p50, "p90": p90 if p90 is not None else p50, "p99": p99}


def summary(tput: float, ttft50: float, ttft99: float, e2e: float, completed: int = 10) -> dict:
    return {
        "completed": completed,
        "failed": 0,
        "output_throughput": tput,
        "request_throughput": tput / 100,
        "total_token_throughput": tput * 1.5,
        "ttft_ms": dist(ttft50, ttft50, ttft99),
        "tpot_ms": dist(5.0, 5.0, 6.0),
        "itl_ms": dist(5.0, 5.0, 7.0),
        "e2el_ms": dist(e2e, e2e, e2e * 1.2),
    }


def sc(name: str, conc: int, **kw) -> ScenarioResult:
    base = {
        "scenario": name,
        "spec": {"name": name, "concurrency": conc},
        "status": "complete",
    }
    return ScenarioResult(**(base | kw))


SUITE = {
    "name": "hand",
    "description": "hand-made",
    "warmup": 0,
    "scenarios": [
        {
            "name": "seq",
            "dataset": "random",
            "num_requests": 10,
            "input_len": 50,
            "output_len": 500,
            "concurrency": 1,
        },
        {
            "name": "c10",
            "dataset": "random",
            "num_requests": 100,
            "input_len": 500,
            "output_len": 500,
            "concurrency": 10,
        },
        {
            "name": "prefix",
            "dataset": "shared-prefix",
            "num_requests": 40,
            "input_len": 1024,
            "output_len": 128,
            "concurrency": 10,
            "num_prefixes": 4,
            "prefix_len": 896,
        },
    ],
}


def hand_result() -> BakeoffResult:
    a = EngineResult("vllm-a", "vllm", "m", status="ok", startup_s=61.5, gpu_memory_released=True)
    a.scenarios = [
        sc(
            "seq",
            1,
            summary=summary(100.0, 20.0, 30.0, 5000.0),
            run_id=1,
            gpu_mem_peak_mib=20000.0,
            gpu_mem_steady_mib=19000.0,
            kv_usage_peak=0.05,
            prefix_hit_rate=0.0,
        ),
        sc(
            "c10",
            10,
            summary=summary(900.0, 80.0, 200.0, 6000.0),
            run_id=2,
            gpu_mem_peak_mib=21000.0,
            gpu_mem_steady_mib=20500.0,
            kv_usage_peak=0.4,
        ),
        sc(
            "prefix",
            10,
            summary=summary(700.0, 40.0, 90.0, 3000.0),
            run_id=3,
            prefix_hit_rate=0.8,
            kv_usage_peak=0.3,
        ),
    ]
    b = EngineResult("sglang-b", "sglang", "m", status="ok", startup_s=80.0)
    b.scenarios = [
        sc(
            "seq",
            1,
            summary=summary(120.0, 25.0, 28.0, 4200.0),
            run_id=4,
            gpu_mem_peak_mib=18000.0,
            gpu_mem_steady_mib=19000.0,
            prefix_hit_rate=0.0,
        ),
        sc(
            "c10",
            10,
            summary=summary(900.0, 70.0, 250.0, 6100.0),
            run_id=5,
            gpu_mem_peak_mib=22000.0,
        ),
        sc("prefix", 10, summary=summary(800.0, 35.0, 95.0, 2800.0), run_id=6, prefix_hit_rate=0.9),
    ]
    c = EngineResult(
        "tgi-c",
        "tgi",
        "m",
        status="refused",
        reason="not starting 'tgi-c': port 8002 on 127.0.0.1 is already in use",
    )
    c.scenarios = [
        ScenarioResult(s["name"], s, "not run", "engine refused") for s in SUITE["scenarios"]
    ]
    return BakeoffResult(
        suite=SUITE,
        profiles=["vllm-a", "sglang-b", "tgi-c"],
        id=7,
        engines=[a, b, c],
        started_at=1.0,
        finished_at=2.0,
    )


def test_best_indices_direction_ties_and_missing():
    assert best_indices([1.0, 3.0, 2.0], HIGHER) == {1}
    assert best_indices([1.0, 3.0, 2.0], LOWER) == {0}
    assert best_indices([3.0, 3.0, 1.0], HIGHER) == {0, 1}
    assert best_indices([3.0, 3.0, None], HIGHER) == set()  # all equal: nobody is better
    assert best_indices([None, 5.0, None], LOWER) == set()  # one value: nothing to compare
    assert best_indices([1.0, 2.0], None) == set()  # informational row
    assert best_indices([0.0, 0.5], HIGHER) == {1}


def test_metric_value_reads_summary_paths_and_fields_and_drops_nan():
    r = hand_result()
    seq_a = r.engines[0].scenarios[0]
    assert metric_value(seq_a, "ttft_ms.p99") == 30.0
    assert metric_value(seq_a, "output_throughput") == 100.0
    assert metric_value(seq_a, "gpu_mem_peak_mib") == 20000.0
    seq_a.summary["tpot_ms"]["p50"] = math.nan
    assert metric_value(seq_a, "tpot_ms.p50") is None
    assert metric_value(r.engines[2].scenarios[0], "output_throughput") is None  # not run


def test_scenario_table_marks_best_per_row():
    header, rows, bests = scenario_table(hand_result(), "seq")
    assert header == ["", "vllm-a", "sglang-b", "tgi-c"]
    by = {row[0]: (row, best) for row, best in zip(rows, bests)}
    assert by["status"][0][1:] == ["complete", "complete", "not run (refused)"]
    assert by["output tok/s"][0][1:] == ["100.0", "120.0", "-"]
    assert by["output tok/s"][1] == {1}  # higher throughput wins
    assert by["TTFT p50 (ms)"][1] == {0}  # lower latency wins
    assert by["TTFT p99 (ms)"][1] == {1}
    assert by["latency mean (ms)"][1] == {1}
    assert by["GPU mem peak (MiB)"][0][1:] == ["20,000", "18,000", "n/a"]
    assert by["GPU mem peak (MiB)"][1] == {1}
    assert by["GPU mem steady (MiB)"][1] == set()  # equal: no winner
    assert by["KV cache peak (%)"][0][1:] == ["5.00", "n/a", "n/a"]
    assert by["KV cache peak (%)"][1] == set()
    assert by["prefix hit rate (%)"][1] == set()  # 0 = 0


def test_terminal_table_stars_and_colors_best():
    r = hand_result()
    text = format_scenario_table(r, "c10")
    line = next(ln for ln in text.splitlines() if ln.startswith("output tok/s"))
    assert line.count("*") == 0  # 900 = 900: no winner
    line = next(ln for ln in text.splitlines() if ln.startswith("TTFT p50"))
    assert "70.0*" in line and "80.0*" not in line
    assert text.splitlines()[0].startswith("c10: 100 requests, concurrency 10, in 500 / out 500")
    colored = format_scenario_table(r, "c10", color=True)
    assert "\x1b[1;32m" in colored


def test_bar_lengths():
    assert bar(0, 10) == ""
    assert bar(10, 10, width=4) == "████"
    assert bar(5, 10, width=4) == "██"
    assert bar(1, 16, width=2) == "▏"  # one eighth of a cell
    assert bar(20, 10, width=3) == "███"  # clipped


def test_plots_order_by_concurrency_and_scale_to_max():
    r = hand_result()
    tp = plot_throughput(r).splitlines()
    assert tp[1] == "c=1  seq" and tp[5].startswith("c=10")
    full = next(ln for ln in tp if "sglang-b" in ln and "900.0" in ln)
    assert full.count("█") == 36  # the biggest value fills the bar
    assert any("tgi-c" in ln and ln.endswith("n/a") for ln in tp)
    tt = plot_ttft(r)
    assert "vllm-a   p99 │" in tt and "sglang-b p50 │" in tt


def test_csv_one_row_per_engine_and_scenario(tmp_path):
    r = hand_result()
    files = write_report_files(r, tmp_path / "out")
    rows = list(csv.DictReader(files["csv"].open()))
    assert len(rows) == 3 * 3
    seq_b = next(x for x in rows if x["profile"] == "sglang-b" and x["scenario"] == "seq")
    assert float(seq_b["output_throughput"]) == 120.0
    assert float(seq_b["ttft_ms.p99"]) == 28.0
    assert seq_b["run_id"] == "4" and seq_b["concurrency"] == "1" and seq_b["bakeoff_id"] == "7"
    tgi = [x for x in rows if x["profile"] == "tgi-c"]
    assert {x["status"] for x in tgi} == {"not run"}
    assert all(x["engine_status"] == "refused" and x["output_throughput"] == "" for x in tgi)
    assert csv_rows(r)[0]["prefix_hit_rate"] == 0.0


def test_json_has_everything_and_best(tmp_path):
    r = hand_result()
    r.engines[0].scenarios[0].summary["tpot_ms"]["p99"] = math.nan
    files = write_report_files(r, tmp_path)
    data = json.loads(files["json"].read_text())  # strict JSON: NaN became null
    assert data["bakeoff"]["id"] == 7
    assert data["bakeoff"]["engines"][0]["scenarios"][0]["summary"]["tpot_ms"]["p99"] is None
    assert data["bakeoff"]["engines"][2]["reason"].startswith("not starting 'tgi-c'")
    assert data["best"]["prefix"]["prefix_hit_rate"] == ["sglang-b"]
    assert "output_throughput" not in data["best"]["c10"]  # equal
    assert data["best"]["c10"]["ttft_ms.p50"] == ["sglang-b"]
    assert data["best"]["seq"]["ttft_ms.p50"] == ["vllm-a"]
    assert report_json(r)["bakeoff"]["suite"]["name"] == "hand"
    # round trip through the stored form
    again = BakeoffResult.from_dict(data["bakeoff"])
    assert again.engines[1].scenarios[2].prefix_hit_rate == 0.9


def test_markdown_bolds_best_and_lists_failures():
    md = format_markdown(hand_result())
    assert md.startswith("# bake-off #7: suite 'hand' on 3 engine(s) — complete")
    assert "| output tok/s | 100.0 | **120.0** | - |" in md
    assert "| prefix hit rate (%) | 80.0 | **90.0** | n/a |" in md
    assert "| tgi-c | tgi | m | refused | - | n/a | not starting 'tgi-c': port 8002" in md
    assert (
        "### prefix: 40 requests, concurrency 10, in 1024 / out 128 tokens, 4 prefixes of 896" in md
    )
    assert "```\noutput tok/s vs concurrency" in md


def test_partial_report_says_so():
    r = hand_result()
    r.partial, r.reason = True, "stopped by the user"
    assert "partial: stopped by the user" in format_report(r).splitlines()[0]


def test_report_of_real_suite_spec_with_no_engine_run():
    suite = find_suite("tiny")
    r = BakeoffResult(suite=suite.describe(), profiles=["x"])
    e = EngineResult("x", "vllm", "m", status="failed", reason="failed at start: boom")
    e.scenarios = [ScenarioResult(s.name, s.describe(), "not run", "x") for s in suite.scenarios]
    r.engines.append(e)
    text = format_report(r)
    assert "failed at start: boom" in text
    assert len(csv_rows(r)) == len(suite.scenarios)


def test_prefix_hit_rate_delta():
    assert prefix_hit_rate_delta((100, 1000), (400, 1500)) == (pytest.approx(0.6), 500)
    assert prefix_hit_rate_delta((0, 1000), (0, 1600)) == (0.0, 600)  # caching off
    assert prefix_hit_rate_delta((None, None), (None, None)) == (None, None)  # no counters
    assert prefix_hit_rate_delta((5, 5), (5, 5)) == (0.0, 0.0)  # nothing looked up
    assert prefix_hit_rate_delta((900, 1000), (30, 100)) == (pytest.approx(0.3), 100)  # reset
    assert prefix_hit_rate_delta((None, None), (10, 40)) == (pytest.approx(0.25), 40)


def test_steady_value_is_median_of_second_half():
    assert steady_value([]) is None
    assert steady_value([1.0, 100.0, 50.0, 52.0, 54.0]) == 52.0
    assert steady_value([7.0]) == 7.0


def test_scenario_tables_gain_the_runs_telemetry_and_energy_per_token():
    result = hand_result()
    tel = {"waiting_peak": 7.0, "joules_per_output_token": 0.25, "output_tokens_per_joule": 4.0}
    result.engines[0].scenarios[0].summary["telemetry"] = tel
    result.engines[1].scenarios[0].summary["telemetry"] = tel | {
        "joules_per_output_token": 0.5,
        "output_tokens_per_joule": 2.0,
        "waiting_peak": 1.0,
    }
    _, rows, bests = scenario_table(result, "seq")
    by = {row[0]: (row[1:], best) for row, best in zip(rows, bests)}
    assert by["J per output token"] == (["0.2500", "0.5000", "n/a"], {0})
    assert by["output tok per J"] == (["4.000", "2.000", "n/a"], {0})
    assert by["queue peak"] == (["7", "1", "n/a"], {1})
    assert "GPU power mean (W)" not in by  # no engine had it: no row
    assert "J per output token" not in {r[0] for r in scenario_table(result, "c10")[1]}
