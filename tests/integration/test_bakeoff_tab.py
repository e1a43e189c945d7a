"""The Load test tab's Bake-off pane driving a real bake-off: two stand-in engines
(tests/fixtures/fake_engine, launched through the real Supervisor) with a user suite from
the config dir; Start → progress lines → the final tables, and the engines are stopped."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from textual.widgets import SelectionList, Static

from llmops_tui.config import paths
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import save_profile
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.bakeoff_panel import BakeoffPanel

FAKE = Path(__file__).resolve().parents[1] / "fixtures" / "fake_engine"
SUITE = """name = "fake"
warmup = 0

[[scenario]]
name = "one"
input_len = 8
output_len = 4
num_requests = 2
concurrency = 1
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_until(pred, timeout=60.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.1)


async def test_bakeoff_from_the_tab(tmp_path, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    pdir = tmp_path / "profiles"
    for name in ("fake-a", "fake-b"):
        save_profile(
            Profile(
                name=name,
                engine="vllm",
                model=str(model),
                served_model_name="fake-model",
                port=free_port(),
                python=sys.executable,
                env={"PYTHONPATH": str(FAKE), "FAKE_ENGINE_MODE": "ok"},
            ),
            pdir / f"{name}.toml",
        )
    monkeypatch.setenv("LLMOPS_PROFILES", str(pdir))
    (paths().config / "suites").mkdir(parents=True)
    (paths().config / "suites" / "fake.toml").write_text(SUITE)

    app = LlmopsApp(initial_tab="loadtest")
    async with app.run_test(size=(130, 48)) as pilot:
        panel = app.query_one(BakeoffPanel)
        app.query_one("#lt-tabs").active = "lt-bakeoff"
        profiles = panel.query_one("#bo-profiles", SelectionList)
        await wait_until(lambda: profiles.option_count == 2)
        panel.query_one("#bo-suite").value = "fake"
        profiles.select("fake-a")
        profiles.select("fake-b")
        panel.query_one("#bo-out").value = str(tmp_path / "report")
        panel.query_one("#bo-ready-timeout").value = "120"
        await pilot.pause()
        await pilot.click("#bo-start")
        await wait_until(lambda: not panel.running and panel.events, timeout=90)
        await pilot.pause()
        message = str(panel.query_one("#bo-message", Static).render())
        report = str(panel.query_one("#bo-report", Static).render())
        events = "\n".join(panel.events)
    assert "Bake-off done · stored as bake-off #1: 2/2 engines completed the suite" in message
    assert "one: 2 requests, concurrency 1" in report
    assert "fake-a" in report and "fake-b" in report
    assert "fake-b: stopped" in events
    assert f"report files: {tmp_path / 'report'}/bakeoff.{{md,csv,json}}" in events
    assert "fake-a" in (tmp_path / "report" / "bakeoff.md").read_text()
    assert (tmp_path / "report" / "bakeoff.csv").read_text().count("\n") == 3  # header + 2
    sup = Supervisor()
    assert [r.phase for r in sup.records()] == ["stopped", "stopped"]
