"""The chat path: a stream of text deltas that cancels the request when closed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from llmops_tui.client.records import Request, RequestRecord
from llmops_tui.client.sse import DeltaSink

if TYPE_CHECKING:
    from llmops_tui.client.http import StreamClient, _Connection


class ChatStream:
    """An async iterator of text deltas; ``record`` has usage, finish reason and timings."""

    def __init__(self, client: StreamClient, req: Request) -> None:
        self._client = client
        self._req = req
        self.record = RequestRecord()
        self._sink = DeltaSink(self.record, req.content_key)
        self._conn: _Connection | None = None
        self._done: asyncio.Future | None = None
        self._closed = False

    async def __aenter__(self) -> ChatStream:
        await self._start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _start(self) -> None:
        if self._conn is None and not self._closed:
            self._conn, self._done, _ = await self._client._send(self._req, self._sink)
            if self._conn is None:
                self.record.end = time.perf_counter()
                self._closed = True

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        await self._start()
        sink = self._sink
        while True:
            while sink.deltas:
                yield sink.deltas.popleft()
            if self._done is None or self._done.done() or sink.done:
                break
            sink.wake.clear()
            waiter = asyncio.ensure_future(sink.wake.wait())
            try:
                await asyncio.wait(
                    [waiter, self._done],
                    timeout=self._client.timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                waiter.cancel()
            if not waiter.done() and not self._done.done() and not sink.deltas:
                self.record.error = f"timed out after {self._client.timeout:g} s"
                break
        while sink.deltas:
            yield sink.deltas.popleft()
        if self._done is not None and not self._done.done() and not self.record.error:
            try:
                await asyncio.wait_for(asyncio.shield(self._done), self._client.timeout)
            except asyncio.TimeoutError:
                self.record.error = f"timed out after {self._client.timeout:g} s"
        await self.aclose()

    @property
    def error(self) -> str | None:
        return self.record.error

    def shutdown_now(self) -> None:
        """Cut the connection at the socket, from any thread: the server sees it closed
        at once and aborts the request, even while the loop reading this stream is busy
        with a backlog of events (``aclose`` on that loop still tidies up after)."""
        conn = self._conn
        transport = conn.transport if conn is not None else None
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None and not self._closed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    async def aclose(self) -> None:
        """Finish (or cancel, if the stream is still running) and release the connection."""
        if self._closed:
            return
        self._closed = True
        rec = self.record
        rec.end = rec.end or time.perf_counter()
        self._sink.collect()
        conn, done = self._conn, self._done
        if conn is None:
            return
        finished = done is not None and done.done()
        if finished:
            keep = bool(done.result()) and self._sink.done  # type: ignore[union-attr]
            self._client._release(conn, keep)
            if rec.status == 200 and rec.error is None and not self._sink.done:
                rec.error = "stream ended without [DONE]"
        else:
            rec.error = rec.error or "cancelled"
            conn.sink = None
            conn.done = None
            if conn.transport is not None:
                conn.transport.close()
            if done is not None and not done.done():
                done.cancel()
