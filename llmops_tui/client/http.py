"""HTTP/1.1 over asyncio protocols: one keep-alive connection per stream, and the client."""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
import time
from collections import deque
from urllib.parse import urlsplit

from llmops_tui.client.chat_stream import ChatStream
from llmops_tui.client.records import DEFAULT_TIMEOUT_S, ClientError, Request, RequestRecord
from llmops_tui.client.sse import EventSink, SSEDecoder, _error_text, _plain

# --------------------------------------------------------------------------- HTTP/1.1 over asyncio


def _hex(text: bytes) -> int:
    return int(text, 16)


def _dechunk_whole(buf: bytes, pieces: list[bytes]) -> int:
    """Unframe the complete HTTP chunks at the start of ``buf`` in bulk; return bytes consumed.

    ``split`` on CRLF gives size, data, size, data, …; a pair is taken only if
    its size matches its data's length, walking from the start, so what is
    taken is exactly framed. The rest (a chunk cut by the read, data holding
    CRLF, chunk extensions, the last chunk) is left to the byte-exact loop.
    """
    parts = buf.split(b"\r\n")
    npairs = (len(parts) - 1) // 2
    if npairs == 0:
        return 0
    hexes = parts[0 : 2 * npairs : 2]
    datas = parts[1 : 2 * npairs : 2]
    try:
        sizes = list(map(_hex, hexes))
    except ValueError:
        return 0
    lens = list(map(len, datas))
    if sizes != lens:
        k = 0
        while sizes[k] == lens[k]:
            k += 1
        npairs = k
    if 0 in sizes[:npairs]:
        npairs = sizes.index(0)  # the last chunk: the exact loop finishes the response
    if npairs == 0:
        return 0
    if npairs < len(hexes):
        hexes, datas, lens = hexes[:npairs], datas[:npairs], lens[:npairs]
    pieces.extend(datas)
    return sum(map(len, hexes)) + sum(lens) + 4 * npairs


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection; one streamed response at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False
        self._reset(None, None)

    def _reset(self, sink: EventSink | None, done: asyncio.Future | None) -> None:
        self.sink = sink
        self.done = done
        self._head = b""
        self._in_body = False
        self._chunked = False
        self._remaining = -1  # content-length left; -1 = read until close
        self._chunk_left = 0  # bytes left in the current HTTP chunk (+2 for its CRLF)
        self._cbuf = b""
        self._keep_alive = True
        self._error_body: list[bytes] | None = None
        self._sse = SSEDecoder()
        self.got_bytes = False

    # asyncio callbacks
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                import socket

                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is not None and not self.done.done():
            if self._in_body and self._remaining == -1 and not self._chunked:
                self._finish()
                return
            rec = self.sink.record if self.sink else None
            if rec is not None:
                rec.connect_error = not self.got_bytes
                why = f": {exc}" if exc else ""
                rec.error = rec.error or (
                    f"connection closed by server before the response ended{why}"
                    if self.got_bytes
                    else f"connection closed by server before any response{why}"
                )
            self.done.set_result(False)

    def eof_received(self) -> bool:
        return False

    def data_received(self, data: bytes) -> None:
        t = time.perf_counter()
        self.got_bytes = True
        if not self._in_body:
            self._head += data
            i = self._head.find(b"\r\n\r\n")
            if i < 0:
                if len(self._head) > 65536:
                    self._fail("response headers too large")
                return
            head, data = self._head[:i], self._head[i + 4 :]
            self._head = b""
            if not self._parse_head(head):
                return
        if self._chunked:
            self._feed_chunked(data, t)
        else:
            if self._remaining >= 0:
                data = data[: self._remaining]
                self._remaining -= len(data)
            self._body(data, t)
            if self._remaining == 0:
                self._finish()

    # parsing
    def _parse_head(self, head: bytes) -> bool:
        lines = head.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        try:
            status = int(parts[1])
        except (IndexError, ValueError):
            self._fail(f"not an HTTP response: {lines[0][:80]!r}")
            return False
        rec = self.sink.record  # type: ignore[union-attr]
        rec.status = status
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip().lower()
            if name == b"transfer-encoding" and b"chunked" in value:
                self._chunked = True
            elif name == b"content-length":
                self._remaining = int(value)
            elif name == b"connection" and value == b"close":
                self._keep_alive = False
        if parts[0] == b"HTTP/1.0":
            self._keep_alive = False
        if status != 200:
            self._error_body = []
        self._in_body = True
        if not self._chunked and self._remaining == 0:
            self._finish()
            return False
        return True

    def _feed_chunked(self, data: bytes, t: float) -> None:
        buf = self._cbuf + data if self._cbuf else data
        pos, n = 0, len(buf)
        pieces: list[bytes] = []
        finished = False
        if self._chunk_left == 0:
            # Fast path: the read is exactly one whole chunk (one event per read, light load).
            j = buf.find(b"\r\n")
            if j > 0 and buf[n - 2 :] == b"\r\n":
                try:
                    size = int(buf[:j], 16)
                except ValueError:
                    size = -1
                if size > 0 and j + 4 + size == n:
                    self._cbuf = b""
                    self._body(buf[j + 2 : n - 2], t)
                    return
            pos = _dechunk_whole(buf, pieces)
        while pos < n:
            left = self._chunk_left
            if left > 0:  # the rest of a chunk that began in an earlier read
                take = min(left, n - pos)
                data_take = min(take, left - 2)  # its CRLF is not data
                if data_take > 0:
                    pieces.append(buf[pos : pos + data_take])
                self._chunk_left = left - take
                pos += take
                continue
            j = buf.find(b"\r\n", pos)
            if j < 0:
                break
            try:
                size = int(buf[pos:j], 16)
            except ValueError:
                field = buf[pos:j].split(b";", 1)[0].strip()  # chunk extensions
                try:
                    size = int(field, 16)
                except ValueError:
                    self._fail(f"bad HTTP chunk size {field[:20]!r}")
                    return
            if size == 0:
                finished = True
                break
            end = j + 2 + size
            if end + 2 <= n:  # the whole chunk is here: the common case
                pieces.append(buf[j + 2 : end])
                pos = end + 2
                continue
            self._chunk_left = size + 2
            pos = j + 2
        self._cbuf = buf[pos:] if pos < n and not finished else b""
        if pieces:
            self._body(pieces[0] if len(pieces) == 1 else b"".join(pieces), t)
        if finished:
            self._finish()

    def _body(self, data: bytes, t: float) -> None:
        if not data:
            return
        if self._error_body is not None:
            self._error_body.append(data)
            return
        sink = self.sink
        blob = self._sse.feed_complete(data)
        if not blob:
            return
        if sink.bulk and sink.record.first_token is not None:  # type: ignore[union-attr]
            # Past the first token, a read holding only plain token events (the usual case)
            # is counted with a few C-level scans of the whole read, no per-event Python.
            n = blob.count(b"\n\n")
            if n == 1:
                if blob.startswith(b"data: ") and blob.count(b"\n") == 2 and _plain(blob):
                    sink.record.chunk_times.append(t)  # type: ignore[union-attr]
                    return
            elif (
                blob.count(b"data: ") == n
                and blob.count(b"\n") == 2 * n
                and blob.count(b'"finish_reason":null') + blob.count(b'"finish_reason": null') == n
                and b'"usage":{' not in blob
                and b'"usage": {' not in blob
            ):
                sink.record.chunk_times.extend([t] * n)  # type: ignore[union-attr]
                return
        sink.on_events(SSEDecoder.split(blob), t)  # type: ignore[union-attr]

    def _finish(self) -> None:
        rec = self.sink.record  # type: ignore[union-attr]
        if self._error_body is not None:
            raw = b"".join(self._error_body)
            try:
                rec.error = f"HTTP {rec.status}: " + _error_text(json.loads(raw))
            except ValueError:
                text = raw.decode("utf-8", "replace").strip()
                rec.error = f"HTTP {rec.status}: {text[:2000] or 'no body'}"
        if self.done is not None and not self.done.done():
            self.done.set_result(self._keep_alive)

    def _fail(self, why: str) -> None:
        if self.sink is not None:
            self.sink.record.error = why
        self._keep_alive = False
        if self.transport is not None:
            self.transport.close()
        if self.done is not None and not self.done.done():
            self.done.set_result(False)


class StreamClient:
    """Streams completions from one OpenAI-compatible server, keeping connections alive.

    ``base_url`` is the server root or its ``/v1`` URL; ``api_key`` (from the
    environment, never argv) goes in an ``Authorization: Bearer`` header.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_idle: int = 1024,
    ) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClientError(f"base URL {base_url!r}: expected http://host:port or https://…")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        prefix = parts.path.rstrip("/")
        self.prefix = prefix[: -len("/v1")] if prefix.endswith("/v1") else prefix
        host_header = f"[{self.host}]" if ":" in self.host else self.host
        default_port = 443 if parts.scheme == "https" else 80
        if self.port != default_port:
            host_header += f":{self.port}"
        self._host_header = host_header
        self._auth = f"Authorization: Bearer {api_key}\r\n" if api_key else ""
        self.timeout = timeout
        self._idle: deque[_Connection] = deque()
        self._max_idle = max_idle
        self._ssl = ssl_module.create_default_context() if parts.scheme == "https" else None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self._host_header}{self.prefix}"

    def _encode(self, req: Request) -> bytes:
        body = json.dumps(req.body(), separators=(",", ":")).encode()
        head = (
            f"POST {self.prefix}{req.path} HTTP/1.1\r\nHost: {self._host_header}\r\n"
            f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"{self._auth}Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(_Connection, self.host, self.port, ssl=self._ssl)
        return conn

    def _take_idle(self) -> _Connection | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
        return None

    async def _send(
        self, req: Request, sink: EventSink
    ) -> tuple[_Connection | None, asyncio.Future | None, bool]:
        """Send the request: (connection, future set when the response ends, reused?)."""
        rec = sink.record
        payload = self._encode(req)
        conn = self._take_idle()
        reused = conn is not None
        if conn is None:
            try:
                conn = await self._connect()
            except OSError as exc:
                rec.error = f"cannot connect to {self.base_url}: {exc.strerror or exc}"
                rec.connect_error = True
                return None, None, False
        done = asyncio.get_running_loop().create_future()
        conn._reset(sink, done)
        rec.start = time.perf_counter()
        conn.transport.write(payload)  # type: ignore[union-attr]
        return conn, done, reused

    def _release(self, conn: _Connection, keep_alive: bool) -> None:
        conn.sink = None
        conn.done = None
        if keep_alive and not conn.closed and len(self._idle) < self._max_idle:
            self._idle.append(conn)
        elif conn.transport is not None:
            conn.transport.close()

    async def request(
        self, req: Request, keep_text: bool = False, text_if_no_usage: bool = False
    ) -> RequestRecord:
        """Run one streamed request to the end and return its record (errors are in the record).

        ``keep_text`` fills ``record.text``; ``text_if_no_usage`` does so only when the
        server sent no usage (so completion tokens can be counted with a tokenizer).
        """
        for _attempt in range(2):
            rec = RequestRecord()
            sink = EventSink(rec, req.content_key, keep_raw=keep_text or text_if_no_usage)
            conn, done, reused = await self._send(req, sink)
            if conn is None or done is None:
                rec.end = time.perf_counter()
                rec.start = rec.start or rec.end
                return rec
            try:
                keep_alive = await asyncio.wait_for(done, self.timeout)
            except asyncio.TimeoutError:
                rec.error = f"timed out after {self.timeout:g} s"
                keep_alive = False
            except asyncio.CancelledError:
                rec.end = time.perf_counter()
                rec.error = rec.error or "cancelled"
                if conn.transport is not None:
                    conn.transport.close()
                raise
            # A kept-alive connection the server had closed meanwhile: retry once, fresh.
            if not (reused and rec.connect_error):
                break
        rec.end = time.perf_counter()
        self._release(conn, bool(keep_alive) and sink.done)
        if rec.status == 200 and rec.error is None and not sink.done and rec.finish_reason is None:
            rec.error = "stream ended without [DONE]"
        if keep_text or (text_if_no_usage and rec.completion_tokens is None):
            rec.text = sink.collected_text()
        return rec

    def stream(self, req: Request) -> ChatStream:
        """Stream text deltas (the chat path); use as ``async with client.stream(r) as s``."""
        return ChatStream(self, req)

    async def aclose(self) -> None:
        while self._idle:
            conn = self._idle.pop()
            if conn.transport is not None:
                conn.transport.close()

    async def __aenter__(self) -> StreamClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
