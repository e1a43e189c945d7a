"""SSE parsing: events out of a body, and sinks that turn them into a RequestRecord."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from typing import Any

from llmops_tui.client.records import RequestRecord

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
        if rec.response_id is None:  # the first parsed event (later ones: one None check)
            rid = obj.get("id")
            if rid is not None:
                rec.response_id = str(rid)
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
