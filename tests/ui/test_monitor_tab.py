"""Monitor tab: snapshots of its main states and a Pilot run of the real app (no GPU here)."""

from __future__ import annotations

from monitor_fakes import FAKE_ENGINES, FAKE_GPUS, NO_GPU, MonitorOnlyApp, sampler_factory

from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.tabs.monitor import MonitorTab


async def wait_first_tick(pilot) -> None:
    tab = pilot.app.query_one(MonitorTab)
    for _ in range(200):
        if tab.ticks >= 1:
            break
        await pilot.pause(0.05)
    assert tab.ticks >= 1, "the monitor never delivered a snapshot"
    await pilot.pause()


def test_snapshot_no_gpu_no_engines(snap_compare):
    app = MonitorOnlyApp(sampler_factory(NO_GPU, []))
    assert snap_compare(app, terminal_size=(120, 30), run_before=wait_first_tick)


def test_snapshot_two_gpus_and_engines(snap_compare):
    app = MonitorOnlyApp(sampler_factory(FAKE_GPUS, FAKE_ENGINES))
    assert snap_compare(app, terminal_size=(130, 75), run_before=wait_first_tick)


async def test_real_app_monitor_tab_shows_no_gpu_state_here():
    app = LlmopsApp(initial_tab="monitor")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_first_tick(pilot)
        tab = app.query_one(MonitorTab)
        snap = tab.last_snapshot
        if snap.gpus.available:  # on a GPU box: GPU panes instead
            assert len(app.query("Pane.gpu")) == len(snap.gpus.gpus)
        else:
            text = str(app.query_one("#host").render())
            assert "no NVIDIA GPU found" in text
            assert "CPU" in text and "RAM" in text
        assert str(app.query_one("#no-engines").render()).startswith("No engines running")


async def test_panes_follow_engines_coming_and_going():
    engines = list(FAKE_ENGINES[:1])
    app = MonitorOnlyApp(sampler_factory(FAKE_GPUS, engines))
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_first_tick(pilot)
        tab = app.query_one(MonitorTab)
        assert len(app.query("Pane.engine")) == 1
        assert len(app.query("Pane.gpu")) == 2
        # Apply a later snapshot directly (what the worker does each second).
        snap = tab.last_snapshot
        snap.engines = list(FAKE_ENGINES)
        tab._apply(snap)
        await pilot.pause()
        assert len(app.query("Pane.engine")) == 4
        assert "error" in app.query_one("#engine-3").classes
        snap.engines = []
        tab._apply(snap)
        await pilot.pause()
        assert len(app.query("Pane.engine")) == 0
        assert app.query_one("#no-engines").display
