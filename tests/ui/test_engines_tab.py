"""Engines tab: snapshots of its main states and Pilot tests of its actions (fake supervisor)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from engines_fakes import T0, FakeSupervisor, make_record, write_log
from textual.widgets import DataTable, Input, Log, Select
from ui_helpers import settle

from llmops_tui.config import paths
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.engines import EnginesTab
from llmops_tui.ui.tabs.engines_log import EngineLogScreen, LogView
from llmops_tui.ui.tabs.profile_form import ProfileForm

ROOT = Path(__file__).resolve().parents[2]
SIZE = (100, 30)
OOM = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB)"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr("llmops_tui.ui.tabs.engines_log.now", lambda: T0 + 600)


def two_engines(log_path: Path | None = None) -> FakeSupervisor:
    log = str(log_path) if log_path else "/nonexistent/engine.log"
    return FakeSupervisor(
        [
            make_record("vllm-a", "ready", ready_at=T0 + 100, log_path=log),
            make_record("broken", "failed", port=8001, root_cause=OOM, exit_code=1, log_path=log),
        ]
    )


def app_with(sup: FakeSupervisor, **kw) -> LlmopsApp:
    return LlmopsApp(supervisor=sup, engines_poll_s=0, gpu_poll_s=0, **kw)


async def until(predicate, pilot, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


def engines_table(app) -> DataTable:
    return app.query_one("#engine-list", DataTable)


# -- snapshots ---------------------------------------------------------------


def test_snapshot_profiles_and_running_engine(snap_compare):
    assert snap_compare(app_with(two_engines()), terminal_size=SIZE, run_before=settle)


def test_snapshot_failure_panel(snap_compare):
    async def before(pilot):
        await settle(pilot)
        engines_table(pilot.app).focus()
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(app_with(two_engines()), terminal_size=SIZE, run_before=before)


def test_snapshot_log_view(snap_compare, tmp_path):
    log = write_log(
        tmp_path / "vllm-a" / "engine.log",
        [
            f"INFO 11-25 04:{i // 60:02d}:{i % 60:02d} loading safetensors shard {i}"
            for i in range(60)
        ]
        + ["INFO Starting vLLM API server 0 on http://127.0.0.1:8000"],
    )

    async def before(pilot):
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause()
        await until(lambda: pilot.app.screen.query_one(LogView).lines_received >= 61, pilot)
        await settle(pilot)

    assert snap_compare(app_with(two_engines(log)), terminal_size=SIZE, run_before=before)


def test_snapshot_profile_form_with_errors(snap_compare):
    async def before(pilot):
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = pilot.app.screen
        form.query_one("#f-name", Input).value = "bad name!"
        form.query_one("#f-port", Input).value = "99999"
        form.query_one("#f-tensor_parallel", Input).value = "two"
        await pilot.press("ctrl+s")
        await settle(pilot)

    assert snap_compare(app_with(FakeSupervisor()), terminal_size=SIZE, run_before=before)


# -- actions -------------------------------------------------------------------


async def test_launch_key_starts_the_highlighted_profile_and_ready_is_announced():
    sup = FakeSupervisor()
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one("#profiles", DataTable)
        table.move_cursor(row=table.get_row_index("tiny-vllm-cpu"))
        await pilot.press("l")
        await settle(pilot)
        assert sup.calls == [("up", "tiny-vllm-cpu")]
        assert engines_table(app).get_row_at(0)[:2] == ["tiny-vllm-cpu", "starting"]
        sup.set_phase("tiny-vllm-cpu", "ready", ready_at=T0 + 60)
        app.query_one(EnginesTab).refresh_records()
        await settle(pilot)
        titles = [n.title for n in app._notifications]
        assert "Engine ready" in titles
        assert "1 engine running" in str(app.query_one("#shell-header").render())


async def test_failed_engine_is_announced_with_its_root_cause():
    sup = FakeSupervisor([make_record("vllm-a", "loading", progress="loading weights 43%")])
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert engines_table(app).get_row_at(0)[4] == "loading weights 43%"
        sup.set_phase("vllm-a", "failed", root_cause=OOM)
        app.query_one(EnginesTab).refresh_records()
        await settle(pilot)
        failed = [n for n in app._notifications if n.title == "Engine vllm-a failed"]
        assert failed and failed[0].message == OOM and failed[0].severity == "error"


async def test_refused_launch_is_a_notification_not_a_traceback():
    sup = FakeSupervisor(refuse="port 8000 is in use by pid 77 (python)")
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "port 8000 is in use" in errors[0].message
        assert "LaunchRefused" in errors[0].title
        assert app.is_running


async def test_stop_restart_and_swap_keys_call_the_supervisor():
    profile_path = ROOT / "profiles/tiny-vllm-cpu.toml"
    sup = FakeSupervisor(
        [make_record("tiny-vllm-cpu", "ready", profile_path=str(profile_path), ready_at=T0)]
    )
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert sup.calls == [("down", "tiny-vllm-cpu"), ("up", "tiny-vllm-cpu")]
        await pilot.press("s")
        await settle(pilot)
        assert sup.calls[-1] == ("down", "tiny-vllm-cpu")
        assert engines_table(app).get_row_at(0)[1] == "stopped"
        sup.set_phase("tiny-vllm-cpu", "ready")
        app.query_one(EnginesTab).refresh_records()
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        picker = app.screen
        assert "tiny-vllm-cpu" not in picker.names and "vllm-llama70b-fp8-tp2" in picker.names
        picker.dismiss("vllm-llama70b-fp8-tp2")
        await pilot.pause()
        await settle(pilot)
        assert sup.calls[-3:] == [
            ("swap", "tiny-vllm-cpu", "vllm-llama70b-fp8-tp2"),
            ("down", "tiny-vllm-cpu"),
            ("up", "vllm-llama70b-fp8-tp2"),
        ]


async def test_orphans_and_unreadable_records_are_shown_and_stopped():
    """What `llmops ps` shows: processes that outlived a failed engine, a record that
    cannot be read whose engine still runs; s stops them."""
    from llmops_tui.supervisor.lost import LostEngine

    sup = FakeSupervisor([make_record("crashed", "failed", root_cause="exited while serving")])
    sup.left = {"crashed": [4301, 4302]}
    sup.lost_engines = [
        LostEngine(
            "garbled",
            "record for garbled unreadable: not valid JSON (…)",
            Path("/s/garbled/state.json"),
            8123,
            pids=[5101],
        )
    ]
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = engines_table(app)
        assert table.get_row("crashed")[1:2] == ["failed · 2 left"]
        assert table.get_row("crashed")[4] == "2 left running · s stops them"
        assert table.get_row("garbled")[1:3] == ["unreadable", "127.0.0.1:8123"]
        detail = str(app.query_one("#engine-detail").render())
        assert "still running after it ended (pids 4301, 4302): s stops them" in detail
        await pilot.press("s")
        await settle(pilot)
        assert sup.calls == [("down", "crashed")]
        table.move_cursor(row=table.get_row_index("garbled"))
        await settle(pilot)
        assert "record for garbled unreadable" in str(app.query_one("#engine-detail").render())
        await pilot.press("s")
        await settle(pilot)
        assert sup.calls[-1] == ("down", "garbled")
        assert [str(k.value) for k in table.rows] == ["crashed"]


async def test_stop_with_no_engine_warns():
    sup = FakeSupervisor()
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert sup.calls == []
        assert any("no engine highlighted" in n.message for n in app._notifications)


async def test_log_view_follows_appends_and_searches(tmp_path):
    log = write_log(tmp_path / "engine.log", ["INFO first", "INFO second"])
    app = app_with(two_engines(log))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("o")
        await pilot.pause()
        view = app.screen.query_one(LogView)
        await until(lambda: view.lines_received == 2, pilot)
        with log.open("a") as f:
            f.writelines(f"INFO batch {i}\n" for i in range(500))
            f.write("ERROR CUDA out of memory\n")
        await until(lambda: view.lines_received == 503, pilot)
        assert app.screen.query_one(Log).lines[-1] == "ERROR CUDA out of memory"
        await pilot.press("slash")
        await pilot.press(*"cuda", "enter")
        await pilot.pause()
        assert view.matches == [502]
        assert "match 1/1" in str(app.screen.query_one("#log-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, EngineLogScreen)


async def test_profile_form_saves_toml_and_the_list_shows_it(monkeypatch):
    user_dir = paths().user_profiles
    monkeypatch.setenv("LLMOPS_PROFILES", f"{user_dir}{os.pathsep}{ROOT / 'profiles'}")
    app = app_with(FakeSupervisor())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, ProfileForm)
        quant = form.query_one("#f-quantization", Select)
        assert ("fp8", "fp8") in quant._options  # vLLM's choices
        form.query_one("#f-engine", Select).value = "tgi"
        await pilot.pause()
        assert form.query_one("#f-pipeline_parallel", Input).disabled  # TGI has no PP
        form.query_one("#f-engine", Select).value = "vllm"
        form.query_one("#f-name", Input).value = "my-qwen"
        form.query_one("#f-model", Input).value = "Qwen/Qwen3-8B"
        form.query_one("#f-port", Input).value = "8011"
        form.query_one("#f-gpu_memory_fraction", Input).value = "0.8"
        form.query_one("#f-extra_args", Input).value = "--enable-prefix-caching"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
        saved = user_dir / "my-qwen.toml"
        assert saved.is_file(), app.screen.query_one("#form-errors").render()
        text = saved.read_text()
        assert 'model = "Qwen/Qwen3-8B"' in text and "port = 8011" in text
        assert 'extra_args = ["--enable-prefix-caching"]' in text
        await settle(pilot)
        assert "my-qwen" in app.query_one(EnginesTab).entries


async def test_profile_form_shows_issues_by_field_and_keeps_input():
    app = app_with(FakeSupervisor())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        form.query_one("#f-name", Input).value = "ok-name"
        form.query_one("#f-model", Input).value = "org/m"
        form.query_one("#f-port", Input).value = "99999"
        form.query_one("#f-max_model_len", Input).value = "lots"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ProfileForm)  # not saved, still open
        port_err = str(form.query_one("#err-port").render())
        len_err = str(form.query_one("#err-max_model_len").render())
        assert "65535" in port_err and "integer" in len_err
        assert str(form.query_one("#err-model").render()) == ""
        assert form.query_one("#f-port", Input).value == "99999"
        assert not (paths().user_profiles / "ok-name.toml").exists()


async def test_palette_offers_every_action():
    app = app_with(two_engines())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [t for t, _, _ in app.palette_commands()]
        for wanted in (
            "Launch profile tiny-vllm-cpu",
            "Stop engine vllm-a",
            "Swap engine vllm-a for…",
            "Open logs of broken",
            "New chat",
            "Run last load test",
            "Switch theme: llmops-light",
            "Switch to tab Monitor",
            "New profile",
        ):
            assert wanted in titles
        assert "Stop engine broken" not in titles  # failed: nothing to stop
        dict((t, cb) for t, cb, _ in app.palette_commands())["Switch to tab Monitor"]()
        await pilot.pause()
        assert app.query_one("#tabs").active == "monitor"


async def test_sleep_mode_engines_show_asleep_and_swap_by_sleep_and_wake():
    a, b = "tiny-vllm-cpu", "vllm-llama70b-fp8-tp2"
    profile_path = str(ROOT / "profiles/tiny-vllm-cpu.toml")
    sup = FakeSupervisor(
        [
            make_record(a, "ready", ready_at=T0, sleep_mode=True, profile_path=profile_path),
            make_record(b, "sleeping", port=8001, sleep_mode=True, slept_at=T0 + 540),
        ]
    )
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        row = engines_table(app).get_row_at(engines_table(app).get_row_index(b))
        assert row[1] == "sleeping" and row[4] == "asleep 1 m 0 s"
        engines_table(app).move_cursor(row=engines_table(app).get_row_index(a))
        await pilot.press("w")
        await pilot.pause()
        app.screen.dismiss(b)
        await settle(pilot)
        assert ("swap", a, b) in sup.calls
        assert any(f"swapping {a} → {b}: sleep, then wake" in n.message for n in app._notifications)


async def test_sleep_and_wake_are_announced():
    a, b = "tiny-vllm-cpu", "vllm-llama70b-fp8-tp2"
    sup = FakeSupervisor(
        [
            make_record(a, "ready", ready_at=T0, sleep_mode=True),
            make_record(b, "sleeping", port=8001, sleep_mode=True, slept_at=T0 + 540),
        ]
    )
    app = app_with(sup)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        sup.set_phase(a, "sleeping", slept_at=T0 + 600)
        sup.set_phase(b, "ready")
        app.query_one(EnginesTab).refresh_records()
        await settle(pilot)
        titles = {n.title: n.message for n in app._notifications}
        assert titles.get("Engine asleep", "").startswith(a)
        assert titles.get("Engine awake", "") == f"{b} awake on 127.0.0.1:8001"
        assert "Engine ready" not in titles  # not "ready in 0 s": it was up all along
