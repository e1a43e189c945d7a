"""One streaming client for OpenAI-compatible servers (vLLM, SGLang, TGI).

Shared by the chat tab and the load generator. It speaks HTTP/1.1 itself on
asyncio protocols (no httpx/aiohttp on the hot path): the load generator must
neither be the bottleneck nor distort the latencies it measures, and the
measured ingest ceiling of httpx is ~12x too low (see benchmarks/ and
shared/reference/http-clients.md).

Per event the work is tiny: one ``perf_counter()`` per socket read (every
event in that read gets that arrival time), split HTTP chunks and SSE events
with ``bytes.find``/``split``, and parse JSON only where it is needed — the
events up to the first content token, the last token (finish reason), the
usage chunk and errors. The chat path (:meth:`StreamClient.stream`) parses
every event, since it needs the text.

Two ways to use it::

    client = StreamClient("http://127.0.0.1:8000")
    rec = await client.request(ChatRequest(model="m", messages=[...], max_tokens=64))
    rec.ttft, rec.itls, rec.completion_tokens, rec.error

    async with client.stream(ChatRequest(...)) as s:   # chat: text deltas
        async for delta in s:
            print(delta, end="")
    s.record.usage_source, s.record.finish_reason

Closing the stream (leaving the ``async with`` early, or ``await s.aclose()``)
cancels the request: the connection is closed, the server aborts it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl as ssl_module
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

ENDPOINTS = ("completions", "chat")
DEFAULT_TIMEOUT_S = 600.0


class ClientError(Exception):
    """A request that could not be made (bad URL, connection refused, …)."""


# --------------------------------------------------------------------------- records


@dataclass
class RequestRecord:
    """Everything measured about one streamed request (times are ``perf_counter`` seconds)."""

    start: float = 0.0
    first_token: float | None = None  # arrival of the first chunk with content
    chunk_times: list[float] = field(default_factory=list)  # every content chunk, first included
    end: float = 0.0
    status: int = 0  # HTTP status; 0 when no response arrived
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = ""  # "usage" | "tokenizer" | "chunks"
    finish_reason: str | None = None
    text: str = ""  # only filled when the caller asks for it (chat, tokenizer counting)
    connect_error: bool = False  # nothing reached the server (refused, reset before a response)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.start

    @property
    def e2e(self) -> float:
        return self.end - self.start

    @property
    def itls(self) -> list[float]:
        t = self.chunk_times
        return [b - a for a, b in pairwise(t)]

    def output_tokens(self) -> int:
        if self.completion_tokens is not None:
            return self.completion_tokens
        return len(self.chunk_times)


# --------------------------------------------------------------------------- requests


@dataclass
class CompletionRequest:
    """``POST /v1/completions`` with a text (or token-id) prompt."""

    model: str
    prompt: str | list[int]
    max_tokens: int = 16
    ignore_eos: bool = False
    temperature: float | None = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    path = "/v1/completions"
    content_key = b'"text"'

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "max_tokens": self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.ignore_eos:
            out["ignore_eos"] = True
        out.update(self.extra)
        return out


@dataclass
class ChatRequest:
    """``POST /v1/chat/completions`` with a list of messages."""

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = 16
    ignore_eos: bool = False
    temperature: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    path = "/v1/chat/completions"
    content_key = b'"content"'

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        if self.temperature is not None:
            out["temperature"] = self.temperature
        if self.ignore_eos:
            out["ignore_eos"] = True
        out.update(self.extra)
        return out


Request = CompletionRequest | ChatRequest


# --------------------------------------------------------------------------- SSE parsing


class SSEDecoder:
    """Incremental SSE decoder: feed bytes, get the ``data`` payload of each complete event.

    Handles events split across reads, several events per read, ``\\r\\n``
    line endings, comments (``: ping``), other fields (``event:``, ``id:``)
    and multi-line data (joined with ``\\n`` as the SSE spec says).
    """

    __slots__ = ("_buf", "_cr")

    def __init__(self) -> None:
        self._buf = b""
        self._cr = False  # last byte fed was a lone \r (maybe half of \r\n)

    def feed(self, data: bytes) -> list[bytes]:
        """The payloads of the events completed by ``data``."""
        return self.split(self.feed_complete(data))

    def feed_complete(self, data: bytes) -> bytes:
        """Buffer ``data``; return the complete events so far (ending in a blank line) as bytes."""
        if b"\r" in data or self._cr:
            if self._cr:
                data = b"\r" + data
                self._cr = False
            if data.endswith(b"\r"):
                data = data[:-1]
                self._cr = True
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        buf = self._buf + data if self._buf else data
        k = buf.rfind(b"\n\n")
        if k < 0:
            self._buf = buf
            return b""
        self._buf = buf[k + 2 :]
        return buf[: k + 2]

    @staticmethod
    def split(blob: bytes) -> list[bytes]:
        """The payloads of complete events (as returned by :meth:`feed_complete`)."""
        if not blob:
            return []
        events = blob.split(b"\n\n")
        events.pop()  # the empty tail after the last blank line
        out = [ev[6:] for ev in events if ev[:6] == b"data: " and b"\n" not in ev]
        if len(out) == len(events):
            return out
        out = []
        for ev in events:
            payload = _slow_event(ev) if ev else None
            if payload is not None:
                out.append(payload)
        return out


def _slow_event(ev: bytes) -> bytes | None:
    parts = []
    for line in ev.split(b"\n"):
        if line.startswith(b"data:"):
            v = line[5:]
            parts.append(v[1:] if v.startswith(b" ") else v)
    return b"\n".join(parts) if parts else None


def _error_text(obj: Any) -> str:
    """The message in an OpenAI-style error body (``{"error": {"message": …}}`` and variants)."""
    if isinstance(obj, dict):
        err = obj.get("error", obj)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("detail") or json.dumps(err)
            kind = err.get("type")
            return f"{kind}: {msg}" if kind else str(msg)
        if isinstance(err, str):
            return err
        if "detail" in obj:
            return str(obj["detail"])
    return str(obj)


def _plain(data: bytes) -> bool:
    """A token event that needs no JSON parsing (no finish reason, usage or error)."""
    return (
        (b'"finish_reason":null' in data or b'"finish_reason": null' in data)
        and b'"usage":{' not in data
        and b'"usage": {' not in data
    )


def _is_error_payload(data: bytes) -> bool:
    return (
        data.startswith(b'{"error"')
        or (b'"object":"error"' in data)
        or (b'"object": "error"' in data)
    )


class EventSink:
    """Turns SSE payloads into a :class:`RequestRecord`, parsing JSON only where needed."""

    __slots__ = ("bulk", "content_key", "done", "keep_raw", "raw", "record")

    def __init__(self, record: RequestRecord, content_key: bytes, keep_raw: bool = False):
        self.record = record
        self.content_key = content_key
        self.keep_raw = keep_raw
        # Whether plain token events may be counted in bulk, without looking at each.
        self.bulk = not keep_raw
        self.raw: list[bytes] = []
        self.done = False

    def on_events(self, events: list[bytes], t: float) -> None:
        """All the events of one socket read (they share its arrival time ``t``)."""
        rec = self.record
        i, n = 0, len(events)
        while i < n and rec.first_token is None:
            self.on_data(events[i], t)
            i += 1
        if i == n:
            return
        # Past the first token. The events that need a look (last token, usage,
        # [DONE], errors) come at the end; the plain tokens before them are
        # counted with a few C-level scans, no per-event Python.
        j = n
        while j > i and not _plain(events[j - 1]):
            j -= 1
        if j > i:
            mid = events[i:j] if i or j < n else events
            blob = b"\n".join(mid)
            m = j - i
            if blob.count(b'"finish_reason":null') + blob.count(b'"finish_reason": null') == m:
                rec.chunk_times.extend([t] * m)
                if self.keep_raw:
                    self.raw.extend(mid)
            else:
                for data in mid:
                    self.on_data(data, t)
        for data in events[j:]:
            self.on_data(data, t)

    def on_data(self, data: bytes, t: float) -> None:
        rec = self.record
        if data == b"[DONE]":
            self.done = True
            return
        if rec.first_token is not None and _plain(data):  # one more token: no JSON parsing
            rec.chunk_times.append(t)
            if self.keep_raw:
                self.raw.append(data)
            return
        self._parse(data, t)

    def _parse(self, data: bytes, t: float) -> str:
        """Record what the event says; the text it carries ("" if none)."""
        rec = self.record
        try:
            obj = json.loads(data)
        except ValueError:
            if _is_error_payload(data):
                rec.error = data.decode("utf-8", "replace")[:2000]
            return ""
        if not isinstance(obj, dict):
            return ""
        if "error" in obj or obj.get("object") == "error":
            rec.error = _error_text(obj)
            return ""
        text = ""
        choices = obj.get("choices")
        if choices:
            choice = choices[0]
            text = self.choice_text(choice)
            if text:
                if rec.first_token is None:
                    rec.first_token = t
                rec.chunk_times.append(t)
                if self.keep_raw:
                    self.raw.append(data)
            elif rec.first_token is not None and choice.get("finish_reason") is None:
                rec.chunk_times.append(t)  # an empty token after the first (held-back bytes)
            if choice.get("finish_reason") is not None:
                rec.finish_reason = choice["finish_reason"]
        usage = obj.get("usage")
        if usage:
            rec.prompt_tokens = usage.get("prompt_tokens")
            ct = usage.get("completion_tokens")
            if ct is not None:
                rec.completion_tokens = ct
                rec.token_source = "usage"
        return text

    @staticmethod
    def choice_text(choice: dict[str, Any]) -> str:
        if "text" in choice:
            return choice.get("text") or ""
        delta = choice.get("delta") or {}
        return delta.get("content") or ""

    def collected_text(self) -> str:
        parts = []
        for data in self.raw:
            try:
                choices = json.loads(data).get("choices") or []
            except ValueError:
                continue
            if choices:
                parts.append(self.choice_text(choices[0]))
        return "".join(parts)


class DeltaSink(EventSink):
    """The chat path: parse every event (once) and hand each text delta to a queue.

    The whole text goes into ``record.text`` at ``[DONE]`` or when the stream is closed
    (:meth:`collect`), not by appending to a string per delta (quadratic).
    """

    __slots__ = ("deltas", "parts", "wake")

    def __init__(self, record: RequestRecord, content_key: bytes):
        super().__init__(record, content_key)
        self.bulk = False  # the chat path needs every event's text
        self.deltas: deque[str] = deque()
        self.parts: list[str] = []
        self.wake = asyncio.Event()

    def collect(self) -> None:
        self.record.text = "".join(self.parts)

    def on_events(self, events: list[bytes], t: float) -> None:
        for data in events:
            self.on_data(data, t)

    def on_data(self, data: bytes, t: float) -> None:
        if data == b"[DONE]":
            self.done = True
            self.collect()
            return
        before = len(self.record.chunk_times)
        self._parse_delta(data, t)
        if len(self.record.chunk_times) != before or self.record.error:
            self.wake.set()

    def _parse_delta(self, data: bytes, t: float) -> None:
        text = self._parse(data, t)
        if text:
            self.parts.append(text)
            self.deltas.append(text)


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


def count_with(tokenize: Callable[[str], int] | None, rec: RequestRecord) -> None:
    """Fill ``completion_tokens`` when the server sent no usage: tokenizer count, else chunks."""
    if rec.completion_tokens is not None:
        return
    if tokenize is not None and rec.text:
        rec.completion_tokens = tokenize(rec.text)
        rec.token_source = "tokenizer"
    else:
        rec.completion_tokens = len(rec.chunk_times)
        rec.token_source = "chunks"
