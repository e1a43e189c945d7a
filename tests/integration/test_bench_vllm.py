"""`llmops bench` against the real vLLM CPU engine: both endpoints, and the tokens it counts
agree with the engine's own counters (`vllm:generation_tokens_total`, `vllm:prompt_tokens_total`)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest
from vllm_process import running_vllm

from llmops_tui.bench.store import ResultStore
from llmops_tui.cli import main
from llmops_tui.config import paths
from llmops_tui.engines.vllm import build_launch
from llmops_tui.profiles.store import load_profile

ROOT = Path(__file__).resolve().parents[2]

READY_TIMEOUT_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm_server(engine_python, tiny_model, tmp_path_factory):
    """The tiny model on vLLM, started once for this module (not through the supervisor)."""
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml").with_overrides(
        model=str(tiny_model), python=str(engine_python), port=_free_port()
    )
    spec = build_launch(profile)
    log_path = tmp_path_factory.mktemp("vllm-bench") / "engine.log"
    with running_vllm(spec, log_path, READY_TIMEOUT_S):
        yield spec


def counter(metrics_url: str, name: str) -> float:
    text = httpx.get(metrics_url, timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


@pytest.mark.parametrize("endpoint", ["completions", "chat"])
def test_bench_counts_agree_with_vllm_counters(vllm_server, tiny_model, endpoint, tmp_path, capsys):
    spec = vllm_server
    gen0 = counter(spec.metrics_url, "vllm:generation_tokens_total")
    prompt0 = counter(spec.metrics_url, "vllm:prompt_tokens_total")
    out = tmp_path / "run.json"
    rc = main(
        [
            "bench",
            "--base-url",
            spec.base_url,
            "--model",
            spec.served_model_name,
            "--endpoint",
            endpoint,
            "--num-requests",
            "8",
            "--concurrency",
            "4",
            "--input-len",
            "32",
            "--output-len",
            "12",
            "--ignore-eos",
            "--tokenizer",
            str(tiny_model),
            "--json",
            str(out),
            "--quiet",
        ]
    )
    captured = capsys.readouterr()
    printed = captured.out
    assert rc == 0, printed + captured.err
    assert "Serving Benchmark Result" in printed
    gen1 = counter(spec.metrics_url, "vllm:generation_tokens_total")
    prompt1 = counter(spec.metrics_url, "vllm:prompt_tokens_total")

    report = json.loads(out.read_text())
    s = report["summary"]
    assert {"summary", "requests", "workload"} <= set(report)
    assert (s["completed"], s["failed"]) == (8, 0)
    assert s["output_token_source"] == "usage"
    assert s["total_output_tokens"] == 8 * 12  # ignore_eos: exactly output_len each
    assert gen1 - gen0 == s["total_output_tokens"]
    assert prompt1 - prompt0 == s["total_input_tokens"]
    assert report["workload"]["input_len_exact"] is True
    for r in report["requests"]:
        assert r["completion_tokens"] == 12 and r["finish_reason"] == "length"
        assert r["ttft_ms"] > 0 and r["e2el_ms"] >= r["ttft_ms"]
        # ITL is per chunk *read*: on a loaded box several SSE events land in one read, so a
        # gap can be 0 and there are at most completion_tokens - 1 of them; what always
        # holds is that no gap is negative and the gaps fit between first and last token.
        assert len(r["itl_ms"]) <= r["completion_tokens"] - 1
        assert all(g >= 0 for g in r["itl_ms"])
        assert sum(r["itl_ms"]) <= r["e2el_ms"] - r["ttft_ms"] + 1e-6
        if endpoint == "completions":
            # exact prompts: 32 tokens, plus the BOS the server may add
            assert r["prompt_tokens"] in (32, 33)
    for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"):
        assert {"mean", "p50", "p90", "p99"} <= set(s[key])
        # ITL and TPOT can be 0 when a request's tokens all came in one read (a loaded box):
        # never negative; TTFT and E2EL always take time.
        if key in ("itl_ms", "tpot_ms"):
            assert s[key]["mean"] >= 0 and s[key]["p50"] >= 0
        else:
            assert s[key]["p50"] > 0
    assert s["output_throughput"] > 0

    run = ResultStore(paths().results_db).get(report["run_id"], with_requests=True)
    assert run is not None and run.status == "complete" and len(run.requests) == 8
    assert run.target["model"] == spec.served_model_name


def test_bench_reports_engine_errors_per_request(vllm_server, capsys):
    spec = vllm_server
    rc = main(
        [
            "bench",
            "--base-url",
            spec.base_url,
            "--model",
            "no-such-model",
            "--num-requests",
            "2",
            "--input-len",
            "4",
            "--output-len",
            "2",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1
    assert "Failed requests:                        2" in out
    assert "HTTP 404" in out and "no-such-model" in out
