"""Finding chat targets: which candidates answer /v1/models, with the model they serve."""

from __future__ import annotations

import asyncio
import json
import socket

from llmops_tui.chat.model import ChatTarget
from llmops_tui.chat.targets import live_targets


async def _server(status: int, body: bytes):
    """A one-route HTTP server answering every request with ``status`` and ``body``."""
    seen: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        seen.append(request.split(b" ")[1].decode())
        head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        writer.write(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_only_answering_targets_in_order_with_the_served_model():
    models = json.dumps({"data": [{"id": "served-a"}, {"id": "other"}]}).encode()
    ok, ok_url, ok_seen = await _server(200, models)
    listed, listed_url, _ = await _server(200, json.dumps({"data": [{"id": "m"}]}).encode())
    broken, broken_url, _ = await _server(500, b'{"error": "boom"}')
    candidates = [
        ChatTarget("down", f"http://127.0.0.1:{_closed_port()}", "m"),
        ChatTarget("wrong-model", ok_url, "not-served"),
        ChatTarget("broken", broken_url, "m"),
        ChatTarget("right-model", listed_url + "/v1", "m"),
    ]
    async with ok, listed, broken:
        found = await live_targets(candidates, timeout=2)
    assert [(t.name, t.model) for t in found] == [("wrong-model", "served-a"), ("right-model", "m")]
    assert found[1].base_url == listed_url + "/v1"
    assert ok_seen == ["/v1/models"]
