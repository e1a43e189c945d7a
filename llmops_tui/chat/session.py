"""Sending a turn: build the request, stream the deltas, record metrics or the error.

The streams come from a *stream factory* ``(target, request) -> stream``; the default,
:class:`ClientPool`, opens :meth:`StreamClient.stream` on one kept-alive client per
server. Tests and benchmarks pass their own factory (a fake stream with a fixed record).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from llmops_tui.chat.metrics import (
    ReplyError,
    classify_error,
    metrics_from_record,
)
from llmops_tui.chat.model import ChatTarget, Conversation, Message
from llmops_tui.client.http import StreamClient
from llmops_tui.client.records import ChatRequest, ClientError, RequestRecord


class ChatStreamLike(Protocol):
    """What a reply needs from a stream (:class:`llmops_tui.client.ChatStream` is one)."""

    record: RequestRecord

    async def __aenter__(self) -> Any: ...
    async def __aexit__(self, *exc: object) -> Any: ...
    def __aiter__(self) -> AsyncIterator[str]: ...
    async def aclose(self) -> None: ...


StreamFactory = Callable[[ChatTarget, ChatRequest], ChatStreamLike]


class ClientPool:
    """One :class:`StreamClient` per (base URL, API-key variable), reused across turns."""

    def __init__(self, timeout: float = 600.0) -> None:
        self._clients: dict[tuple[str, str | None], StreamClient] = {}
        self.timeout = timeout

    def client(self, target: ChatTarget) -> StreamClient:
        key = (target.base_url, target.api_key_env)
        if key not in self._clients:
            api_key = os.environ.get(target.api_key_env) if target.api_key_env else None
            self._clients[key] = StreamClient(
                target.base_url, api_key=api_key, timeout=self.timeout
            )
        return self._clients[key]

    def __call__(self, target: ChatTarget, request: ChatRequest) -> ChatStreamLike:
        return self.client(target).stream(request)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


class NetworkThread:
    """A daemon thread running its own asyncio loop, where chat streams are read and parsed.

    At thousands of tokens/s, reading and parsing the SSE events (JSON per event) takes
    a large share of a core, and a read that finds many events queued parses them all in
    one callback: done on the UI's loop, that starves key presses (a stop key waited for
    the whole reply). Here the UI's loop only renders; Python's GIL switching (5 ms) keeps
    the two threads taking turns.
    """

    def __init__(self, name: str = "llmops-chat-net") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name=self._name, daemon=True)
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(self, coro: Any) -> concurrent.futures.Future:
        """Run a coroutine on the network loop; await ``asyncio.wrap_future`` of the result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, callback: Callable[[], Any]) -> None:
        self.loop.call_soon_threadsafe(callback)

    def close(self, timeout: float = 5.0) -> None:
        """Cancel what still runs there, wait for it to end (up to 1 s), stop the thread.

        Stopping the loop with work in flight left it behind: an engine probe still
        running at a quit was "Task was destroyed but it is pending!" (seen on the H100
        box, quitting 0.3 s after start), and cancelling its future later posted to a
        closed loop ("RuntimeError: Event loop is closed").
        """
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return

        async def wind_down() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=1.0)
            asyncio.get_running_loop().stop()

        asyncio.run_coroutine_threadsafe(wind_down(), loop)
        thread.join(timeout)
        if not thread.is_alive():
            loop.close()


def build_request(conv: Conversation, column: int = 0) -> ChatRequest:
    target = conv.targets[column]
    s = conv.settings
    return ChatRequest(
        model=target.model,
        messages=conv.api_messages(column),
        max_tokens=s.max_tokens,
        temperature=s.temperature,
        extra=s.body_fields(),
    )


class ReplyRun:
    """One reply being streamed into ``message``; :meth:`cancel` stops it server-side.

    ``on_delta(text)`` is called for every text delta as it arrives: keep it cheap
    (append to a buffer); the UI renders from that buffer at its own pace. With a
    ``network`` thread, the stream is read there and ``on_delta`` is called from that
    thread (use a thread-safe buffer: ``deque.append``).
    """

    def __init__(
        self,
        conv: Conversation,
        column: int,
        factory: StreamFactory,
        on_delta: Callable[[str], None] | None = None,
        network: NetworkThread | None = None,
    ) -> None:
        self.conv = conv
        self.column = column
        self.target = conv.targets[column]
        self.request = build_request(conv, column)
        self.message: Message = conv.add_reply(column)
        self._factory = factory
        self._on_delta = on_delta
        self._stream: ChatStreamLike | None = None
        self._cancelled = False
        self._network = network
        self.done = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop the reply: closes the connection, so the server aborts the request."""
        if self.done or self._cancelled:
            return
        self._cancelled = True
        if self._network is not None:
            # The network loop may be busy with a backlog of events: cut the socket now
            # (thread-safe), so the server aborts at once; the loop then closes the stream.
            shutdown_now = getattr(self._stream, "shutdown_now", None)
            if shutdown_now is not None:
                shutdown_now()
            self._network.call_soon(self._close_stream)
        else:
            self._close_stream()

    def _close_stream(self) -> None:
        """On the loop that reads the stream: close it (the server aborts the request)."""
        if self._stream is not None:
            asyncio.get_running_loop().create_task(self._stream.aclose())

    async def run(self) -> Message:
        """Stream the reply (on the network thread if there is one); the final message."""
        if self._network is None:
            return await self._run_here()
        future = self._network.submit(self._run_here())
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self.cancel()
            raise

    async def _run_here(self) -> Message:
        parts: list[str] = []
        record = RequestRecord()
        try:
            asleep = await asyncio.to_thread(_asleep, self.target.base_url)
            if asleep:  # a sleeping engine would hold the request, unanswered, until a wake
                record.error = asleep
                self.message.error = ReplyError("asleep", asleep)
                return self.message
            try:
                stream = self._factory(self.target, self.request)
            except ClientError as exc:
                record.error = str(exc)
                record.connect_error = True
                self.message.error = ReplyError("bad_target", str(exc), str(exc))
                return self.message
            self._stream = stream
            record = stream.record
            if self._cancelled:  # stopped before the stream existed
                await stream.aclose()
            on_delta = self._on_delta
            async with stream:
                async for delta in stream:
                    if self._cancelled:
                        break
                    parts.append(delta)
                    if on_delta is not None:
                        on_delta(delta)
        except asyncio.CancelledError:
            self._cancelled = True
            raise
        finally:
            self.done = True
            self._finish(parts, record)
        return self.message

    def _finish(self, parts: list[str], record: RequestRecord) -> None:
        msg = self.message
        msg.content = "".join(parts)
        cancelled = self._cancelled and record.finish_reason is None
        if msg.error is None:
            msg.metrics = metrics_from_record(record, cancelled=cancelled)
            if not cancelled:
                msg.error = classify_error(record, self.target.base_url, self.target.model)


def _asleep(base_url: str) -> str | None:
    """Why not to send to ``base_url`` now: an engine of ours that sleeps (sleep mode)."""
    try:
        from llmops_tui.supervisor.sleep import asleep_message

        return asleep_message(base_url)
    except Exception:  # a state folder we cannot read says nothing about the engine
        return None


def start_turn(
    conv: Conversation,
    text: str,
    factory: StreamFactory,
    on_delta: Callable[[int, str], None] | None = None,
    network: NetworkThread | None = None,
) -> list[ReplyRun]:
    """Add the user's prompt and one :class:`ReplyRun` per target (two in A/B mode)."""
    if not conv.targets:
        raise ValueError("no target: pick an engine (base URL and model) first")
    conv.add_user(text)
    runs = []
    for column in range(len(conv.targets)):
        cb = None if on_delta is None else (lambda d, c=column: on_delta(c, d))
        runs.append(ReplyRun(conv, column, factory, cb, network))
    return runs


async def send_turn(
    conv: Conversation,
    text: str,
    factory: StreamFactory,
    on_delta: Callable[[int, str], None] | None = None,
) -> list[Message]:
    """Send a prompt to every target of the conversation at once; the replies, in column order."""
    runs = start_turn(conv, text, factory, on_delta)
    return list(await asyncio.gather(*(r.run() for r in runs)))
