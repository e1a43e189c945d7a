"""Streaming a turn against a fake OpenAI server: deltas, metrics, every error kind, cancel."""

from __future__ import annotations

import asyncio
import socket

import pytest
from chat_fakes import REPLY, FakeOpenAIServer

from llmops_tui.chat.metrics import (
    CONNECTION_REFUSED,
    CONTEXT_TOO_LONG,
    INTERRUPTED,
    SERVER_ERROR,
    UNKNOWN_MODEL,
)
from llmops_tui.chat.model import ChatTarget, Conversation
from llmops_tui.chat.session import ClientPool, ReplyRun, send_turn


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _one_turn(base_url: str, model: str, prompt: str = "hi"):
    conv = Conversation(targets=[ChatTarget("t", base_url, model)])
    pool = ClientPool(timeout=10)
    seen: list[str] = []
    try:
        [reply] = await send_turn(conv, prompt, pool, on_delta=lambda col, d: seen.append(d))
    finally:
        await pool.aclose()
    return conv, reply, seen


async def test_ok_reply_streams_deltas_and_records_metrics():
    async with FakeOpenAIServer() as srv:
        conv, reply, seen = await _one_turn(srv.base_url, "ok")
    assert reply.content == REPLY == "".join(seen)
    assert len(seen) == len(REPLY.split(" "))
    assert reply.error is None
    m = reply.metrics
    assert (m.prompt_tokens, m.completion_tokens, m.finish_reason) == (11, 6, "stop")
    assert m.token_source == "usage"
    assert 0 < m.ttft_s <= m.e2e_s
    assert srv.requests[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert [x.role for x in conv.messages] == ["user", "assistant"]


@pytest.mark.parametrize(
    ("model", "kind", "words", "partial"),
    [
        ("too-long", CONTEXT_TOO_LONG, "maximum context length is 1024 tokens", ""),
        ("missing", UNKNOWN_MODEL, "does not serve model 'missing'", ""),
        ("boom", SERVER_ERROR, "HTTP 500): EngineCore died", ""),
        ("midstream", INTERRUPTED, "stopped mid-reply: engine dead", "partial reply"),
        ("drop", INTERRUPTED, "stopped mid-reply", "partial reply"),
    ],
)
async def test_server_errors_become_error_messages_and_the_conversation_is_kept(
    model, kind, words, partial
):
    async with FakeOpenAIServer() as srv:
        conv, reply, _ = await _one_turn(srv.base_url, model, "first")
        assert reply.error is not None, reply
        assert reply.error.kind == kind
        assert words in reply.error.message
        assert reply.content == partial
        # The conversation goes on: the next prompt is sent without the failed turn.
        conv.targets[0] = ChatTarget("t", srv.base_url, "ok")
        pool = ClientPool(timeout=10)
        [second] = await send_turn(conv, "second", pool)
        await pool.aclose()
    assert second.error is None and second.content == REPLY
    assert srv.requests[-1]["messages"] == [{"role": "user", "content": "second"}]
    assert [m.role for m in conv.messages] == ["user", "assistant", "user", "assistant"]


async def test_connection_refused():
    _, reply, _ = await _one_turn(f"http://127.0.0.1:{_unused_port()}", "ok")
    assert reply.error.kind == CONNECTION_REFUSED
    assert "cannot connect to the engine at http://127.0.0.1:" in reply.error.message
    assert reply.metrics is not None and reply.metrics.completion_tokens is None


async def test_bad_base_url_is_an_error_message_not_an_exception():
    _, reply, _ = await _one_turn("localhost:8000", "ok")
    assert reply.error.kind == "bad_target"
    assert "expected http://host:port" in reply.error.message


async def test_cancel_closes_the_stream_so_the_server_sees_the_disconnect():
    async with FakeOpenAIServer() as srv:
        conv = Conversation(targets=[ChatTarget("t", srv.base_url, "endless")])
        pool = ClientPool(timeout=10)
        got: list[str] = []
        run = ReplyRun(conv, 0, pool, got.append)
        task = asyncio.create_task(run.run())
        while len(got) < 5:
            await asyncio.sleep(0.005)
        run.cancel()
        reply = await asyncio.wait_for(task, 5)
        await asyncio.wait_for(srv.disconnected.wait(), 5)
        await pool.aclose()
    assert reply.error is None
    assert reply.cancelled and reply.metrics.finish_reason == "cancelled"
    assert reply.content.startswith("partial reply tok")
    assert reply.content == "".join(got)


async def test_cancelling_the_task_also_stops_the_request():
    async with FakeOpenAIServer() as srv:
        conv = Conversation(targets=[ChatTarget("t", srv.base_url, "endless")])
        pool = ClientPool(timeout=10)
        got: list[str] = []
        run = ReplyRun(conv, 0, pool, got.append)
        task = asyncio.create_task(run.run())
        while len(got) < 3:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(srv.disconnected.wait(), 5)
        await pool.aclose()
    assert run.message.metrics.finish_reason == "cancelled"
    assert run.message.content == "".join(got)
