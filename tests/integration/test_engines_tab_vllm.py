"""Engines tab against the real vLLM CPU build: launch → ready → stop through Pilot keys."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import httpx
import psutil
from textual.widgets import DataTable

from llmops_tui.profiles.store import save_profile
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.engines import EnginesTab

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ui"))
from ui_helpers import settle

READY_TIMEOUT_S = 240


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_for(predicate, pilot, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.5)


async def test_launch_ready_stop_from_the_engines_tab(tiny_profile, tmp_path, monkeypatch):
    profiles = tmp_path / "profiles"
    save_profile(tiny_profile, profiles / "tiny-vllm-cpu.toml")
    monkeypatch.setenv("LLMOPS_PROFILES", str(profiles))
    app = LlmopsApp()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await settle(pilot)
            tab = app.query_one(EnginesTab)
            table = app.query_one("#profiles", DataTable)
            assert [table.get_row_at(i)[0] for i in range(table.row_count)] == ["tiny-vllm-cpu"]
            await pilot.press("l")

            def phase() -> str | None:
                rec = tab.records.get("tiny-vllm-cpu")
                return rec.phase if rec else None

            await wait_for(lambda: phase() == "ready", pilot, READY_TIMEOUT_S, "ready")
            assert any(n.title == "Engine ready" for n in app._notifications)
            assert "1 engine running" in str(app.query_one("#shell-header").render())
            rec = tab.records["tiny-vllm-cpu"]
            models = httpx.get(f"{rec.base_url}/v1/models", timeout=10).json()
            assert models["data"][0]["id"] == "tiny-llama"
            pids = Supervisor().process_pids("tiny-vllm-cpu")
            assert pids

            await pilot.press("s")  # the only engine is the highlighted one
            await wait_for(lambda: phase() == "stopped", pilot, 90, "stopped")
            assert not [p for p in pids if running(p)]
            assert "no engine running" in str(app.query_one("#shell-header").render())
    finally:
        sup = Supervisor()
        for r in sup.records():
            if r.alive_phase:
                sup.down(r.name, grace=5)
