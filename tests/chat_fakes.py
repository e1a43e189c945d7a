"""Fakes for the chat tests: an OpenAI-style SSE server on loopback, and an in-process stream.

The server speaks HTTP/1.1 with chunked SSE like uvicorn-based engines do; the
behaviour is picked by the request's ``model``:

- ``ok``: deltas ``REPLY`` (split in words), finish ``stop``, usage, ``[DONE]``
- ``too-long``: HTTP 400 with vLLM's context-length message
- ``missing``: HTTP 404 with vLLM's unknown-model message
- ``boom``: HTTP 500
- ``midstream``: two deltas, then an error event (as vLLM sends on engine failure), ``[DONE]``
- ``drop``: two deltas, then the connection is closed without ending the stream
- ``endless``: deltas every 5 ms until the client goes away (``disconnected`` is set)
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from llmops_tui.client.records import RequestRecord

REPLY = "Hello there, this is **fake** text."


def _chunk(obj: dict | str) -> bytes:
    data = obj if isinstance(obj, str) else json.dumps(obj)
    payload = f"data: {data}\n\n".encode()
    return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"


def _delta(text: str, finish: str | None = None) -> dict:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}],
    }


class FakeOpenAIServer:
    def __init__(self) -> None:
        self.server: asyncio.base_events.Server | None = None
        self.port = 0
        self.requests: list[dict] = []
        self.disconnected = asyncio.Event()

    async def __aenter__(self) -> FakeOpenAIServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = json.loads(await reader.readexactly(length))
                self.requests.append(body)
                keep = await self._respond(body, writer)
                if not keep:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _json(self, writer, status: int, obj: dict) -> bool:
        data = json.dumps(obj).encode()
        reason = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
        await writer.drain()
        return True

    async def _respond(self, body: dict, writer: asyncio.StreamWriter) -> bool:
        model = body.get("model")
        if model == "too-long":
            return await self._json(
                writer,
                400,
                {
                    "error": {
                        "message": "This model's maximum context length is 1024 tokens. However, "
                        "your prompt contains 1500 input tokens, which exceeds this limit even "
                        "without any output tokens. Please reduce the length of the input prompt.",
                        "type": "BadRequestError",
                        "param": "input_tokens",
                        "code": 400,
                    }
                },
            )
        if model == "missing":
            return await self._json(
                writer,
                404,
                {
                    "error": {
                        "message": "The model `missing` does not exist.",
                        "type": "NotFoundError",
                        "param": "model",
                        "code": 404,
                    }
                },
            )
        if model == "boom":
            return await self._json(
                writer,
                500,
                {
                    "error": {
                        "message": "EngineCore died",
                        "type": "InternalServerError",
                        "code": 500,
                    }
                },
            )
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        if model == "ok":
            words = REPLY.split(" ")
            for i, w in enumerate(words):
                writer.write(_chunk(_delta(w if i == 0 else " " + w)))
                await writer.drain()
            writer.write(_chunk(_delta("", "stop")))
            usage = {"prompt_tokens": 11, "completion_tokens": len(words), "total_tokens": 0}
            writer.write(_chunk({"choices": [], "usage": usage}))
            writer.write(_chunk("[DONE]") + b"0\r\n\r\n")
            await writer.drain()
            return True
        writer.write(_chunk(_delta("partial")) + _chunk(_delta(" reply")))
        await writer.drain()
        if model == "midstream":
            err = {"error": {"message": "engine dead", "type": "InternalServerError", "code": 500}}
            writer.write(_chunk(err) + _chunk("[DONE]") + b"0\r\n\r\n")
            await writer.drain()
            return True
        if model == "drop":
            await asyncio.sleep(0.01)
            return False
        if model == "endless":
            try:
                while True:
                    await asyncio.sleep(0.005)
                    writer.write(_chunk(_delta(" tok")))
                    await writer.drain()
                    if writer.is_closing():
                        break
            except (ConnectionError, RuntimeError):
                pass
            finally:
                self.disconnected.set()
            return False
        return False


@dataclass
class FakeStream:
    """An in-process stream with a fixed record (frozen metrics) for UI tests and benchmarks.

    ``deltas`` are yielded with ``delay`` seconds between them (0: no pause, but still
    yields to the event loop). ``error`` is put in the record at the end, as a failing
    server would. ``hold`` keeps the stream open after the deltas until closed.
    """

    deltas: list[str]
    record: RequestRecord = field(default_factory=RequestRecord)
    delay: float = 0.0
    error: str | None = None
    status: int = 200
    hold: bool = False
    closed: bool = False

    async def __aenter__(self) -> FakeStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        for d in self.deltas:
            if self.closed:
                return
            await asyncio.sleep(self.delay)
            yield d
        while self.hold and not self.closed:
            await asyncio.sleep(0.01)
        rec = self.record
        rec.status = self.status
        rec.error = self.error

    async def aclose(self) -> None:
        self.closed = True


def fixed_record(
    ttft: float = 0.05, e2e: float = 1.05, prompt: int = 12, completion: int = 101, finish="stop"
) -> RequestRecord:
    """A record whose metrics line reads ``TTFT 50 ms · 100.0 tok/s · in 12 · out 101 · stop``."""
    rec = RequestRecord(start=100.0, first_token=100.0 + ttft, end=100.0 + e2e, status=200)
    rec.prompt_tokens = prompt
    rec.completion_tokens = completion
    rec.token_source = "usage"
    rec.finish_reason = finish
    return rec
