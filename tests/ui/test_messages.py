"""The UI's message seam (ui/messages.py): shared data coalesces, reaches every widget
that shows it, and a late message to a widget that is gone is dropped."""

from __future__ import annotations

import asyncio

from engines_fakes import FakeSupervisor, make_record
from monitor_fakes import FAKE_GPUS
from textual import on
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, ProgressBar
from ui_helpers import settle

from llmops_tui.bench.live import LiveView
from llmops_tui.telemetry.gpu import GpuSnapshot
from llmops_tui.ui.app import LlmopsApp
from llmops_tui.ui.messages import EngineRecords, GpusRead, LoadTestProgress, post
from llmops_tui.ui.tabs.engines import EnginesTab
from llmops_tui.ui.tabs.loadtest import LoadTestTab


class Plain(Message):
    """A message that does not coalesce (Textual's default): the control case."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n


class Slow(Widget):
    """Records what it is handed; the first message keeps it busy until released."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.busy = asyncio.Event()
        self.release = asyncio.Event()

    async def _hold(self, what: str) -> None:
        self.seen.append(what)
        if len(self.seen) == 1:
            self.busy.set()
            await self.release.wait()

    @on(GpusRead)
    async def _gpus(self, event: GpusRead) -> None:
        await self._hold(f"gpus {event.snapshot.reason}")

    @on(EngineRecords)
    async def _records(self, event: EngineRecords) -> None:
        await self._hold(f"records {len(event.records)}")

    @on(Plain)
    async def _plain(self, event: Plain) -> None:
        await self._hold(f"plain {event.n}")


class SlowApp(App):
    def compose(self) -> ComposeResult:
        yield Slow()


def gpus(n: int) -> GpusRead:
    return GpusRead(GpuSnapshot(available=False, reason=str(n)))


async def handled_while_busy(first: Message, later: list[Message]) -> list[str]:
    """Post ``first``; while its handler is busy, post ``later`` from a worker thread
    (as the producers do); release the handler and return what was handled."""
    app = SlowApp()
    async with app.run_test() as pilot:
        slow = app.query_one(Slow)
        slow.post_message(first)
        await asyncio.wait_for(slow.busy.wait(), 5)
        queued = await asyncio.to_thread(lambda: [post(slow, m) for m in later])
        assert all(queued)
        await asyncio.sleep(0.05)  # (pilot.pause would wait for the busy handler)
        slow.release.set()
        for _ in range(5):
            await pilot.pause()
        return slow.seen


async def test_messages_posted_while_the_handler_is_busy_coalesce_to_the_latest():
    seen = await handled_while_busy(gpus(0), [gpus(n) for n in range(1, 11)])
    assert seen == ["gpus 0", "gpus 10"]


async def test_messages_that_do_not_coalesce_are_all_handled():
    """The control: the same queue with Textual's default can_replace keeps every one."""
    seen = await handled_while_busy(Plain(0), [Plain(n) for n in range(1, 11)])
    assert seen == [f"plain {n}" for n in range(11)]


async def test_one_kind_never_replaces_another():
    later: list[Message] = [gpus(n) for n in range(1, 4)]
    later += [EngineRecords([make_record(f"e{i}") for i in range(n)]) for n in range(1, 4)]
    seen = await handled_while_busy(gpus(0), later)
    assert seen == ["gpus 0", "gpus 3", "records 3"]


async def test_a_message_for_a_widget_that_is_gone_is_dropped():
    app = SlowApp()
    async with app.run_test() as pilot:
        slow = app.query_one(Slow)
        await slow.remove()
        assert not await asyncio.to_thread(post, slow, gpus(1))
        await pilot.pause()
        assert slow.seen == []


async def from_a_thread(pilot, node, message: Message) -> None:
    """Post as a producer does (from its worker thread), then let the UI handle it."""
    assert await asyncio.to_thread(post, node, message)
    for _ in range(3):
        await pilot.pause()


def header_text(app: App) -> str:
    return str(app.query_one("#shell-header").render())


async def test_engine_records_and_gpu_reads_reach_the_widgets_that_show_them():
    """One message from the Engines tab's poll: the tab handles it, the app relays it."""
    app = LlmopsApp(supervisor=FakeSupervisor(), engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "no engine running" in header_text(app)
        tab = app.query_one(EnginesTab)
        records = [make_record("qwen"), make_record("llama", phase="starting", port=8001)]
        await from_a_thread(pilot, tab, EngineRecords(records))
        assert tab.query_one("#engine-list", DataTable).row_count == 2
        assert "2 engines running (1 starting)" in header_text(app)
        assert "no GPU" in header_text(app)
        await from_a_thread(pilot, app, GpusRead(FAKE_GPUS))  # the app's own NVML worker
        assert f"{len(FAKE_GPUS.gpus)} GPUs · " in header_text(app)


def progress(done: int) -> LoadTestProgress:
    return LoadTestProgress(LiveView(done, 40, f"{done}/40 done", [10.0, 20.0, 30.0], [50.0, 60.0]))


async def test_load_test_progress_reaches_the_bar_and_the_counters():
    app = LlmopsApp(initial_tab="loadtest", engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(130, 48)) as pilot:
        await settle(pilot)
        tab = app.query_one(LoadTestTab)
        tab._set_running(True)
        await from_a_thread(pilot, tab, progress(12))
        bar = tab.query_one("#lt-progress", ProgressBar)
        assert (bar.progress, bar.total) == (12, 40)
        assert "12/40 done" in str(tab.query_one("#lt-status").render())
        tab._set_running(False)  # the run ended: a late report is not drawn over its end
        await from_a_thread(pilot, tab, progress(30))
        assert bar.progress == 12


async def test_chat_looks_for_targets_again_when_the_set_of_ready_engines_changes():
    """The Chat tab gets the Engines tab's records (relayed by the app) and probes for
    targets again only when an engine becomes ready or stops being ready."""
    from llmops_tui.ui.tabs.chat import ChatTab

    app = LlmopsApp(supervisor=FakeSupervisor(), engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        chat = app.query_one(ChatTab)
        looks: list[int] = []
        chat.find_targets = lambda: looks.append(1)  # type: ignore[method-assign]
        tab = app.query_one(EnginesTab)
        starting = make_record("llama", phase="starting", port=8001)
        steps = [
            ([], 0),  # the first records only set what was seen
            ([starting], 0),  # starting is not a target yet
            ([make_record("qwen"), starting], 1),  # qwen ready: look again
            ([make_record("qwen"), starting], 1),  # the same poll again: nothing
            ([make_record("qwen"), make_record("llama", port=8001)], 2),  # llama ready
            ([make_record("llama", port=8001)], 3),  # qwen gone
        ]
        for records, expected in steps:
            await from_a_thread(pilot, tab, EngineRecords(records))
            assert len(looks) == expected, [r.name for r in records]


async def test_load_test_offers_targets_again_when_the_set_of_ready_engines_changes():
    app = LlmopsApp(
        initial_tab="loadtest", supervisor=FakeSupervisor(), engines_poll_s=0, gpu_poll_s=0
    )
    async with app.run_test(size=(130, 48)) as pilot:
        await settle(pilot)
        tab = app.query_one(LoadTestTab)
        looks: list[int] = []
        tab.load_profiles = lambda: looks.append(1)  # type: ignore[method-assign]
        engines = app.query_one(EnginesTab)
        for records, expected in (
            ([], 0),
            ([make_record("qwen")], 1),
            ([make_record("qwen")], 1),
        ):
            await from_a_thread(pilot, engines, EngineRecords(records))
            assert len(looks) == expected
        tab._set_running(True)  # during a run: not now, the next poll after it
        await from_a_thread(pilot, engines, EngineRecords([]))
        assert len(looks) == 1
        tab._set_running(False)
        await from_a_thread(pilot, engines, EngineRecords([]))
        assert len(looks) == 2
