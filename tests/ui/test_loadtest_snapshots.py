"""Snapshots of the Load test tab's main states: form, bad input, live run, finished, history compare."""

from __future__ import annotations

import time

import pytest
from ui_helpers import settle

from llmops_tui.bench.live import LiveRun
from llmops_tui.bench.store import ResultStore
from llmops_tui.client.records import RequestRecord
from llmops_tui.config import paths
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.loadtest import LoadTestTab

SIZE = (130, 48)


def summary(ttft=95.0, tput=4180.0, completed=200, failed=0):
    def dist(m):
        return {
            "mean": m,
            "std": m / 10,
            "p50": m * 0.9,
            "p90": m * 1.5,
            "p95": m * 2,
            "p99": m * 3.2,
            "min": m / 2,
            "max": m * 4,
        }

    return {
        "completed": completed,
        "failed": failed,
        "duration_s": 12.25,
        "total_input_tokens": 102400,
        "total_output_tokens": 51200,
        "request_throughput": completed / 12.25,
        "output_throughput": tput,
        "total_token_throughput": tput * 3,
        "ttft_ms": dist(ttft),
        "tpot_ms": dist(7.5),
        "itl_ms": dist(7.4),
        "e2el_ms": dist(2000.0),
        "errors": {},
    }


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    time.tzset()


def tab(pilot) -> LoadTestTab:
    return pilot.app.query_one(LoadTestTab)


async def form_ready(pilot) -> None:
    """Wait for the Run form: it is mounted when the tab is first shown."""
    for _ in range(200):
        if tab(pilot).form_ready and tab(pilot).form.size.height > 0:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def test_form(snap_compare):
    async def before(pilot):
        await form_ready(pilot)

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def test_bad_input_is_named_field_by_field(snap_compare):
    async def before(pilot):
        await form_ready(pilot)
        t = tab(pilot)
        t.query_one("#lt-num").value = "many"
        t.query_one("#lt-model").value = ""
        t.query_one("#lt-slo-ttft").value = "-5"
        t.start()
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def test_live_run(snap_compare):
    async def before(pilot):
        await form_ready(pilot)
        t = tab(pilot)
        live = LiveRun(t0=0.0, total=200)
        from llmops_tui.bench.runner import Progress

        for i in range(60):
            start = i * 0.1
            r = RequestRecord(start=start, first_token=start + 0.05 + (i % 7) * 0.01, status=200)
            r.chunk_times = [r.first_token + k * 0.01 * (1 + i % 3) for k in range(40)]
            r.end = r.chunk_times[-1]
            live.on_record(r, Progress(total=200, completed=i + 1, in_flight=32, t0=0.0))
        t._live = live
        from llmops_tui.bench.telemetry import TelemetryPoint, TelemetrySampler

        sampler = TelemetrySampler("http://127.0.0.1:8000/metrics", gpu=False)
        sampler.gpu_note = "no NVIDIA GPU found: the NVIDIA kernel driver is not loaded"
        for i in range(30):
            run = min(32, i * 3)
            sampler.points.append(
                TelemetryPoint(t=i * 0.2, kv=run / 40, running=run, waiting=max(0, i - 12))
            )
        t._sampler = sampler
        t._set_running(True)
        t._message("Running against http://127.0.0.1:8000 (tiny-llama)…")
        t.refresh_live()
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def test_preset_filled(snap_compare):
    async def before(pilot):
        await form_ready(pilot)
        tab(pilot).query_one("#lt-preset").value = "shared-prefix"
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def test_finished_run(snap_compare):
    async def before(pilot):
        await form_ready(pilot)
        s = summary()
        s["goodput"] = s["request_throughput"] * 0.8
        s["slo"] = {"ttft_ms": 200.0, "tpot_ms": 10.0, "e2el_ms": None}
        t = tab(pilot)
        t.show_summary(s, run_id=3)  # it scrolls the summary and results into view itself
        await pilot.pause()
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def _store_two_runs() -> list[int]:
    store = ResultStore(paths().results_db)
    ids = []
    for i, (model, ttft, tput, status) in enumerate(
        [("vllm-llama70b", 95.0, 4180.0, False), ("sglang-llama70b", 88.0, 4420.0, True)]
    ):
        s = summary(ttft, tput, completed=200 - 20 * i)
        s["goodput"] = s["request_throughput"] * (0.9 - 0.2 * i)
        s["slo"] = {"ttft_ms": 200.0, "tpot_ms": None, "e2el_ms": None}
        ids.append(
            store.save(
                target={
                    "base_url": "http://127.0.0.1:8000",
                    "model": model,
                    "profile": model,
                    "engine": model.split("-")[0],
                },
                workload={"endpoint": "completions", "input_len": 512, "output_len": 256},
                load={"max_concurrency": 32, "request_rate": None},
                summary=s,
                requests=[],
                partial=status,
                reason="stopped by the user" if status else None,
                created_at=1_790_000_000 + 3600 * i,
            )
        )
    return ids


def test_history_compare(snap_compare):
    ids = _store_two_runs()

    async def before(pilot):
        await form_ready(pilot)
        t = tab(pilot)
        t.query_one("#lt-tabs").active = "lt-history"
        await pilot.pause()
        t.load_runs()
        await settle(pilot)
        await pilot.pause()
        t.mark_runs(ids)
        t.action_compare()
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def _bakeoff_panel(pilot):
    from llmops_tui.ui.tabs.bakeoff_panel import BakeoffPanel

    return pilot.app.query_one(BakeoffPanel)


def test_bakeoff_form(snap_compare):
    async def before(pilot):
        await form_ready(pilot)
        tab(pilot).query_one("#lt-tabs").active = "lt-bakeoff"
        await settle(pilot)
        p = _bakeoff_panel(pilot)
        p.set_choices(["vllm-llama70b", "sglang-llama70b", "tgi-llama70b"], ["standard", "tiny"])
        await pilot.pause()
        p.query_one("#bo-profiles").select("vllm-llama70b")
        p.query_one("#bo-profiles").select("sglang-llama70b")
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)


def test_bakeoff_running_and_finished(snap_compare):
    from llmops_tui.bench.bakeoff import BakeoffResult, EngineResult, ScenarioResult

    suite = {
        "name": "tiny",
        "description": "smoke test",
        "scenarios": [
            {"name": "sequential-short", "dataset": "random", "num_requests": 3,
             "input_len": 16, "output_len": 16, "concurrency": 1},
        ],
    }  # fmt: skip
    a = EngineResult("vllm-a", "vllm", "m", status="ok", startup_s=61.0, gpu_memory_released=True)
    a.scenarios = [
        ScenarioResult("sequential-short", suite["scenarios"][0], "complete",
                       summary=summary(20.0, 410.0, completed=3), run_id=1,
                       gpu_mem_peak_mib=20100.0, kv_usage_peak=0.02, prefix_hit_rate=0.0)
    ]  # fmt: skip
    b = EngineResult("sglang-b", "sglang", "m", status="ok", startup_s=75.0)
    b.scenarios = [
        ScenarioResult("sequential-short", suite["scenarios"][0], "complete",
                       summary=summary(18.0, 450.0, completed=3), run_id=2,
                       gpu_mem_peak_mib=19800.0, prefix_hit_rate=0.0)
    ]  # fmt: skip
    result = BakeoffResult(suite=suite, profiles=["vllm-a", "sglang-b"], engines=[a, b], id=4)

    async def before(pilot):
        await form_ready(pilot)
        tab(pilot).query_one("#lt-tabs").active = "lt-bakeoff"
        await settle(pilot)
        p = _bakeoff_panel(pilot)
        for msg in ("vllm-a: ready in 61 s", "vllm-a: sequential-short (3 requests)"):
            p.add_event(msg)
        p.show_result(result)
        await pilot.pause()

    assert snap_compare(LlmopsApp(initial_tab="loadtest"), terminal_size=SIZE, run_before=before)
