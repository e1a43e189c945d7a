"""Load-test telemetry and sweeps against the real vLLM CPU engine (max_num_seqs 4, so the
engine saturates at a small concurrency): the running series reaches the run's concurrency,
the engine's generation counter moved by exactly the tokens the client counted, and a
concurrency ladder stops at the step where the engine saturates. The running series' peak
is checked when enough /metrics samples fell inside the run: with a core taken by other
work the API server answers /metrics late, and its running gauge can read 0 while tokens
are generated (seen with `yes > /dev/null` beside the tests)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from vllm_process import running_vllm

from llmops_tui.bench.store import ResultStore
from llmops_tui.cli import main
from llmops_tui.config import paths
from llmops_tui.engines.vllm import build_launch
from llmops_tui.profiles.store import load_profile

ROOT = Path(__file__).resolve().parents[2]
MAX_SEQS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def vllm4(engine_python, tiny_model, tmp_path_factory):
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml").with_overrides(
        model=str(tiny_model), python=str(engine_python), port=_free_port(), max_num_seqs=MAX_SEQS
    )
    spec = build_launch(profile)
    with running_vllm(spec, tmp_path_factory.mktemp("vllm-tel") / "engine.log", 240):
        yield spec


def test_telemetry_series_match_the_run(vllm4, tiny_model, tmp_path, capsys):
    out = tmp_path / "run.json"
    rc = main(
        [
            "bench", "--base-url", vllm4.base_url, "--model", vllm4.served_model_name,
            "--num-requests", "24", "--concurrency", str(MAX_SEQS), "--input-len", "16",
            "--output-len", "320", "--warmup", str(MAX_SEQS), "--ignore-eos", "--tokenizer", str(tiny_model),
            "--json", str(out), "--quiet",
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0, printed
    report = json.loads(out.read_text())
    assert report["summary"]["duration_s"] > 2.0  # many samples at 5 Hz
    s, t = report["summary"], report["summary"]["telemetry"]
    assert t["metrics"] == "ok" and t["samples"] >= 1
    assert 0 <= t["running_peak"] <= MAX_SEQS  # never past the engine's limit
    if t["samples"] >= 5:  # the running series reaches the run's concurrency
        assert t["running_peak"] == MAX_SEQS, t
    # else: the engine answered /metrics so late (cores busy with other work: one scrape
    # took most of the run) that too few points fall inside the run to see the peak.
    assert t["engine_generation_tokens"] == s["total_output_tokens"] == 24 * 320
    assert t["server_ttft_ms"]["count"] == 24 and t["server_ttft_ms"]["mean"] > 0
    assert "TTFT mean/p50/p99 (ms), engine:" in printed
    run = ResultStore(paths().results_db).get(report["run_id"], with_requests=True)
    assert len(run.telemetry) == len(report["telemetry"]) >= t["samples"]
    ids = [r["response_id"] for r in run.requests]
    assert all(i and i.startswith("cmpl-") for i in ids) and len(set(ids)) == 24


def test_sweep_finds_the_saturation_point_and_stops_there(vllm4, tiny_model, tmp_path, capsys):
    rc = main(
        [
            "bench", "sweep", "--base-url", vllm4.base_url, "--model", vllm4.served_model_name,
            "--input-len", "16", "--output-len", "32", "--ignore-eos",
            "--tokenizer", str(tiny_model), "--start", "1", "--max", "32",
            "--step-requests", "16", "--slo-ttft", "60000", "--out", str(tmp_path / "rep"),
        ]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert rc == 0, printed
    sweep = json.loads((tmp_path / "rep/sweep.json").read_text())
    loads = [st["load"] for st in sweep["steps"]]
    assert sweep["saturation"] is not None, printed
    assert sweep["saturation"] > MAX_SEQS  # queueing starts past the engine's batch limit
    assert loads[-1] == sweep["saturation"] and loads[-1] < 32  # stopped there
    assert "saturated at concurrency" in printed and "answer: highest load meeting" in printed
    assert (tmp_path / "rep/sweep.svg").read_text().startswith("<svg")
