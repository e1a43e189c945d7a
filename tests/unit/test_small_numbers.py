"""Numbers that looked broken: small values keep their significant digits, ITL near 0 is
explained by tokens per chunk, the bake-off marks no best on a tie as shown or on a sample
too small to compare."""

from __future__ import annotations

from llmops_tui.bench.bakeoff_report import best_indices, format_scenario_table, too_few
from llmops_tui.bench.metrics import summarize
from llmops_tui.bench.report import chunk_note, format_summary, precise
from llmops_tui.ui.tabs.loadtest_history import fmt_number


def test_small_values_keep_two_significant_digits():
    assert precise(0.003) == "0.0030"
    assert precise(0.0234) == "0.023"
    assert precise(12.345) == "12.35" and precise(0.0) == "0.00"
    assert fmt_number(0.02) == "0.020" and fmt_number(1234.5) == "1,234.50"


def test_tokens_per_chunk_and_its_note():
    from llmops_tui.client.records import RequestRecord

    # 12 tokens in 3 chunks each (the CPU engine sends several tokens per chunk)
    recs = [
        RequestRecord(start=0.0, first_token=0.1, chunk_times=[0.1, 0.1, 0.1], end=0.2,
                      status=200, completion_tokens=12, token_source="usage")
        for _ in range(4)
    ]  # fmt: skip
    s = summarize(recs, 1.0)
    assert s["chunks"] == 12 and s["tokens_per_chunk"] == 4.0
    assert s["itl_ms"]["p50"] == 0.0
    note = chunk_note(s)
    assert note and note.startswith("4.0 tokens per chunk")
    assert note in format_summary(s)


def test_tie_as_shown_is_not_a_best():
    from llmops_tui.bench.bakeoff_report import scenario_table
    from llmops_tui.bench.bakeoff_results import BakeoffResult, EngineResult, ScenarioResult

    def sc(itl):
        summ = {"completed": 50, "failed": 0, "itl_ms": {"mean": itl, "p50": itl, "p99": itl}}
        return ScenarioResult(scenario="s", spec={"name": "s"}, status="complete", summary=summ)

    engines = [
        EngineResult(profile=p, engine="vllm", model="m", status="complete", scenarios=[sc(v)])
        for p, v in (("a", 0.01204), ("b", 0.01201))
    ]
    res = BakeoffResult(suite={"scenarios": []}, profiles=["a", "b"], engines=engines)
    _, rows, bests = scenario_table(res, "s")
    i = next(k for k, r in enumerate(rows) if r[0] == "ITL mean (ms)")
    assert rows[i][1:] == ["0.012", "0.012"] and bests[i] == set()  # shown alike: a tie
    assert best_indices([round(0.0012, 2), round(0.0049, 2)], "lower") == set()  # 0.00 vs 0.00
    assert best_indices([1.0, 2.0], "lower") == {0}


def test_small_sample_is_not_compared():
    from llmops_tui.bench.bakeoff_results import BakeoffResult, EngineResult, ScenarioResult

    def sc(done, tput):
        summ = {"completed": done, "failed": 0, "output_throughput": tput}
        return ScenarioResult(scenario="s", spec={"name": "s"}, status="complete", summary=summ)

    suite = {"name": "x", "scenarios": [{"name": "s", "num_requests": 3, "concurrency": 1,
                                         "input_len": 8, "output_len": 8}]}  # fmt: skip
    engines = [
        EngineResult(profile=p, engine="vllm", model="m", status="complete", scenarios=[sc(3, t)])
        for p, t in (("a", 10.0), ("b", 20.0))
    ]
    result = BakeoffResult(suite=suite, profiles=["a", "b"], engines=engines)
    assert too_few([e.scenarios[0] for e in engines]).startswith("only 3 completed")
    text = format_scenario_table(result, "s")
    assert "too few to compare" in text and "20.0*" not in text
