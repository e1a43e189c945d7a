"""Streams read on the network thread: deltas arrive from that thread, cancel closes the stream."""

from __future__ import annotations

import asyncio
import threading

from llmops_tui.chat.model import ChatTarget, Conversation
from llmops_tui.chat.session import NetworkThread, start_turn
from llmops_tui.client.records import RequestRecord


class EndlessStream:
    """Yields a delta every 5 ms until closed; records the thread and loop it ran on."""

    def __init__(self) -> None:
        self.record = RequestRecord(start=1.0, first_token=1.001, status=200)
        self.closed = threading.Event()
        self.thread: str | None = None

    async def __aenter__(self):
        self.thread = threading.current_thread().name
        return self

    async def __aexit__(self, *exc):
        await self.aclose()

    async def aclose(self):
        self.closed.set()

    def __aiter__(self):
        return self._run()

    async def _run(self):
        while not self.closed.is_set():
            yield "tok "
            await asyncio.sleep(0.005)


async def test_reply_streams_on_the_network_thread_and_cancel_closes_it() -> None:
    net = NetworkThread(name="test-net")
    stream = EndlessStream()
    seen_threads: set[str] = set()
    conv = Conversation(targets=[ChatTarget("t", "http://127.0.0.1:9", "m")])

    def on_delta(column: int, delta: str) -> None:
        seen_threads.add(threading.current_thread().name)

    try:
        (run,) = start_turn(conv, "hi", lambda t, r: stream, on_delta, net)
        task = asyncio.create_task(run.run())
        while not seen_threads:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        run.cancel()
        message = await asyncio.wait_for(task, 5)
    finally:
        net.close()
    assert stream.thread == "test-net" and seen_threads == {"test-net"}
    assert stream.closed.is_set() and run.done and message.cancelled
    assert message.content.startswith("tok tok ") and message.error is None


def test_close_ends_work_in_flight_instead_of_dropping_it(caplog):
    """Closing with a coroutine still running (an engine probe at a quit) cancels it and
    lets it finish on the loop: stopping the loop under it left the task pending, logged
    "Task was destroyed but it is pending!" when collected (seen on the H100 box)."""
    import asyncio
    import gc
    import logging
    import time

    caplog.set_level(logging.ERROR)
    net = NetworkThread(name="test-net-close")
    cleaned: list[str] = []

    async def probe() -> None:
        try:
            await asyncio.sleep(30)
        finally:
            cleaned.append("probe")

    future = net.submit(probe())
    time.sleep(0.1)  # the probe is awaiting its sleep
    t0 = time.monotonic()
    net.close()
    took = time.monotonic() - t0
    gc.collect()
    assert cleaned == ["probe"], "the probe's cleanup did not run"
    assert future.cancelled()
    assert took < 2
    assert [r.getMessage() for r in caplog.records] == []
