"""Sending a turn: build the request, stream the deltas, record metrics or the error.

The streams come from a *stream factory* ``(target, request) -> stream``; the default,
:class:`ClientPool`, opens :meth:`StreamClient.stream` on one kept-alive client per
server. Tests and benchmarks pass their own factory (a fake stream with a fixed record).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from llmops_tui.chat.metrics import (
    ReplyError,
    classify_error,
    metrics_from_record,
)
from llmops_tui.chat.model import ChatTarget, Conversation, Message
from llmops_tui.client import ChatRequest, ClientError, RequestRecord, StreamClient


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
    (append to a buffer); the UI renders from that buffer at its own pace.
    """

    def __init__(
        self,
        conv: Conversation,
        column: int,
        factory: StreamFactory,
        on_delta: Callable[[str], None] | None = None,
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
        self.done = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """Stop the reply: closes the connection, so the server aborts the request."""
        if self.done or self._cancelled:
            return
        self._cancelled = True
        if self._stream is not None:
            asyncio.get_running_loop().create_task(self._stream.aclose())

    async def run(self) -> Message:
        parts: list[str] = []
        record = RequestRecord()
        try:
            try:
                stream = self._factory(self.target, self.request)
            except ClientError as exc:
                record.error = str(exc)
                record.connect_error = True
                self.message.error = ReplyError("bad_target", str(exc), str(exc))
                return self.message
            self._stream = stream
            record = stream.record
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


def start_turn(
    conv: Conversation,
    text: str,
    factory: StreamFactory,
    on_delta: Callable[[int, str], None] | None = None,
) -> list[ReplyRun]:
    """Add the user's prompt and one :class:`ReplyRun` per target (two in A/B mode)."""
    if not conv.targets:
        raise ValueError("no target: pick an engine (base URL and model) first")
    conv.add_user(text)
    runs = []
    for column in range(len(conv.targets)):
        cb = None if on_delta is None else (lambda d, c=column: on_delta(c, d))
        runs.append(ReplyRun(conv, column, factory, cb))
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
