"""Results store round trip, workloads, and the `llmops bench` command's input checks."""

from __future__ import annotations

import json
import math

import pytest

from llmops_tui.bench.metrics import REQUEST_COLUMNS, summarize
from llmops_tui.bench.report import compare_rows, format_summary, format_table, write_csv
from llmops_tui.bench.store import ResultStore, request_row
from llmops_tui.bench.workload import Tokenizer, WorkloadSpec, build_workload
from llmops_tui.cli import main
from llmops_tui.client.records import RequestRecord
from llmops_tui.config import paths


def make_records():
    ok = RequestRecord(start=1.0, first_token=1.1, end=1.3, status=200, prompt_tokens=8)
    ok.chunk_times = [1.1, 1.2, 1.3]
    ok.completion_tokens, ok.token_source, ok.finish_reason = 3, "usage", "length"
    bad = RequestRecord(start=1.0, end=1.05, status=0, error="connection closed by server")
    return [ok, bad]


def save_one(store, partial=False, model="m"):
    recs = make_records()
    return store.save(
        target={"base_url": "http://127.0.0.1:1", "model": model},
        workload={"endpoint": "completions", "input_len": 8, "output_len": 3},
        load={"max_concurrency": 2, "request_rate": None},
        summary=summarize(recs, 1.0),
        requests=[request_row(r, 1.0) for r in recs],
        partial=partial,
        reason="server stopped answering" if partial else None,
    )


def test_store_round_trip_keeps_summary_requests_and_errors(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    rid = save_one(store, partial=True)
    run = store.get(rid, with_requests=True)
    assert run.partial and run.reason == "server stopped answering"
    assert run.summary["completed"] == 1 and run.summary["failed"] == 1
    assert math.isnan(run.summary["tpot_ms"]["std"]) is False
    assert [r["error"] for r in run.requests] == [None, "connection closed by server"]
    assert run.requests[0]["itl_ms"] == pytest.approx([100.0, 100.0])
    assert run.requests[0]["ttft_ms"] == pytest.approx(100.0)
    assert run.requests[1]["ttft_ms"] is None
    rid2 = save_one(store, model="other")
    assert [r.id for r in store.list_runs()] == [rid2, rid]
    assert store.get(999) is None
    assert store.delete(rid) and store.get(rid) is None


def test_a_request_is_the_same_columns_as_a_row_a_stored_request_and_a_csv_line(tmp_path):
    rows = [request_row(r, 1.0) for r in make_records()]
    assert sorted(rows[0]) == sorted(REQUEST_COLUMNS)
    store = ResultStore(tmp_path / "r.db")
    run = store.get(save_one(store), with_requests=True)
    assert [sorted(r) for r in run.requests] == [sorted(REQUEST_COLUMNS)] * 2
    write_csv(tmp_path / "r.csv", rows)
    header = (tmp_path / "r.csv").read_text().splitlines()[0].split(",")
    assert header == [c for c in REQUEST_COLUMNS if c != "itl_ms"] + ["itl_count", "itl_mean_ms"]


def test_compare_rows_put_runs_side_by_side(tmp_path):
    store = ResultStore(tmp_path / "r.db")
    a, b = save_one(store), save_one(store, partial=True, model="b")
    header, rows = compare_rows([store.get(a), store.get(b)])
    assert header == ["", f"#{a}", f"#{b}"]
    table = dict((r[0], r[1:]) for r in rows)
    assert table["model"] == ["m", "b"]
    assert table["status"] == ["complete", "partial"]
    assert table["completed"] == ["1", "1"]
    assert "TTFT p50 (ms)" in format_table(header, rows)


def test_summary_text_reads_like_vllm_bench_serve():
    text = format_summary(summarize(make_records(), 1.0))
    assert "Serving Benchmark Result" in text
    assert "Successful requests:" in text and "Median TTFT (ms):" in text
    assert "failed ×1: connection closed by server" in text


def test_random_prompts_without_a_tokenizer_are_approximate_and_say_so():
    wl = build_workload(WorkloadSpec(num_requests=5, input_len=12, output_len=4))
    assert not wl.exact and "approximate" in wl.notes[0]
    assert all(len(p.text.split()) == 12 for p in wl.prompts)
    assert all(p.output_len == 4 for p in wl.prompts)
    again = build_workload(WorkloadSpec(num_requests=5, input_len=12, output_len=4))
    assert [p.text for p in again.prompts] == [p.text for p in wl.prompts]  # seeded


def char_tokenizer() -> Tokenizer:
    """Each character one token; ids are code points (a-z)."""
    return Tokenizer(
        name="chars",
        encode=lambda s: [ord(c) for c in s],
        decode=lambda ids: "".join(chr(i) for i in ids),
        vocab_size=123,
        special_ids=frozenset(range(97)),
    )


def test_random_prompts_with_a_tokenizer_are_exact():
    tok = char_tokenizer()
    wl = build_workload(WorkloadSpec(num_requests=4, input_len=17, output_len=2), tok)
    assert wl.exact
    assert all(tok.count(p.text) == 17 == p.input_len for p in wl.prompts)
    assert all(c.islower() for p in wl.prompts for c in p.text)  # no special ids used


def test_shared_prefix_makes_n_prefixes_times_m_suffixes():
    spec = WorkloadSpec(
        dataset="shared-prefix",
        num_requests=12,
        input_len=10,
        output_len=2,
        num_prefixes=3,
        prefix_len=6,
    )
    wl = build_workload(spec, char_tokenizer())
    prefixes = {p.text[:6] for p in wl.prompts}
    assert len(prefixes) == 3
    assert all(sum(p.text.startswith(x) for p in wl.prompts) == 4 for x in prefixes)
    assert len({p.text for p in wl.prompts}) == 12


def test_workload_spec_errors_name_the_field():
    errs = WorkloadSpec(dataset="nope", input_len=0, endpoint="x").validate()
    assert any(e.startswith("dataset:") for e in errs)
    assert any(e.startswith("input_len:") for e in errs)
    assert any(e.startswith("endpoint:") for e in errs)


def test_cli_missing_arguments_are_named(capsys):
    assert main(["bench", "--input-len", "8"]) == 2
    err = capsys.readouterr().err
    for flag in ("--output-len", "--num-requests", "--base-url", "--model"):
        assert flag in err


def test_cli_unknown_profile_is_a_clear_error(capsys):
    rc = main(
        [
            "bench",
            "--profile",
            "no-such-profile",
            "--num-requests",
            "1",
            "--input-len",
            "1",
            "--output-len",
            "1",
        ]
    )
    assert rc == 2
    assert "no-such-profile" in capsys.readouterr().err


def test_cli_runs_and_compare(capsys):
    store = ResultStore(paths().results_db)
    assert main(["bench", "runs"]) == 0
    assert "no runs stored" in capsys.readouterr().out
    a, b = save_one(store), save_one(store, partial=True)
    assert main(["bench", "runs", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [b, a] and listed[0]["status"] == "partial"
    assert main(["bench", "compare", str(a), str(b)]) == 0
    assert "TTFT p50 (ms)" in capsys.readouterr().out
    assert main(["bench", "compare", str(a), "77"]) == 2
    assert "no stored run with id 77" in capsys.readouterr().err


def test_cli_unreachable_server_fails_cleanly(capsys, port):
    rc = main(
        [
            "bench",
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--model",
            "m",
            "--num-requests",
            "3",
            "--input-len",
            "4",
            "--output-len",
            "2",
            "--quiet",
        ]
    )
    out = capsys.readouterr()
    assert rc == 1
    assert "cannot connect" in out.out
    runs = ResultStore(paths().results_db).list_runs()
    assert runs and runs[0].partial and "server stopped answering" in runs[0].reason


def test_cli_scenario_fills_defaults_and_explicit_options_win(capsys, port):
    rc = main(
        [
            "bench",
            "--scenario",
            "sequential-short",
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--model",
            "m",
            "--num-requests",
            "2",
            "--quiet",
            "--no-save",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 1  # nothing listens on that port
    assert "requests=2 in=128 out=128" in captured.err


def test_cli_chat_scenario_sets_the_endpoint_unless_given(capsys, port):
    base = ["bench", "--base-url", f"http://127.0.0.1:{port}", "--model", "m", "--quiet"]
    assert main([*base, "--scenario", "chat", "--num-requests", "2", "--no-save"]) == 1
    assert "endpoint=chat requests=2 in=256 out=256" in capsys.readouterr().err
    rc = main([*base, "--scenario", "chat", "--endpoint", "completions", "--no-save"])
    assert rc == 1
    assert "endpoint=completions requests=200 in=256 out=256" in capsys.readouterr().err
