"""`llmops chat` headless: reply on stdout, metrics on stderr, non-zero exit with the error."""

from __future__ import annotations

import asyncio
import threading

import pytest
from chat_fakes import REPLY, FakeOpenAIServer

from llmops_tui.cli import main


@pytest.fixture
def fake_server():
    """The fake server running in its own thread and loop (the CLI runs its own loop)."""
    ready = threading.Event()
    box: dict = {}

    def serve() -> None:
        async def run() -> None:
            async with FakeOpenAIServer() as srv:
                box["srv"], box["stop"] = srv, asyncio.Event()
                ready.set()
                await box["stop"].wait()

        loop = asyncio.new_event_loop()
        box["loop"] = loop
        loop.run_until_complete(run())
        loop.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    assert ready.wait(5)
    yield box["srv"]
    box["loop"].call_soon_threadsafe(box["stop"].set)
    th.join(5)


def test_chat_streams_reply_to_stdout_and_metrics_to_stderr(fake_server, capsys):
    rc = main(
        [
            "chat",
            "--base-url",
            fake_server.base_url,
            "--model",
            "ok",
            "--system",
            "be brief",
            "--max-tokens",
            "20",
            "--temperature",
            "0",
            "hello",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert out == REPLY + "\n"
    assert err.startswith("[ok] TTFT ") and "in 11 · out 6 · stop" in err
    body = fake_server.requests[0]
    assert body["messages"][0] == {"role": "system", "content": "be brief"}
    assert (body["max_tokens"], body["temperature"]) == (20, 0.0)


def test_chat_failure_exits_non_zero_with_the_error(fake_server, capsys):
    rc = main(["chat", "--base-url", fake_server.base_url, "--model", "missing", "hello"])
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    assert "llmops chat: the engine at" in err and "does not serve model 'missing'" in err


def test_chat_needs_a_target(capsys):
    assert main(["chat", "--model", "m", "hi"]) == 2
    assert "give --profile NAME, or both --base-url URL and --model NAME" in capsys.readouterr().err


def test_chat_unknown_profile_says_so(capsys):
    assert main(["chat", "--profile", "tiny-vllm-cpuu", "hi"]) == 2
    err = capsys.readouterr().err
    assert "no profile named 'tiny-vllm-cpuu'" in err and "did you mean tiny-vllm-cpu" in err


def test_chat_profile_resolves_address_and_served_model():
    import argparse

    from llmops_tui.commands.chat_cmd import resolve_target

    ns = argparse.Namespace(profile="tiny-vllm-cpu", base_url=None, model=None, api_key_env=None)
    target, problem = resolve_target(ns)
    assert problem is None
    assert (target.base_url, target.model) == ("http://127.0.0.1:8100", "tiny-llama")
