"""Snapshots of the Chat tab: empty, mid-conversation (streaming), errors, A/B."""

from __future__ import annotations

from chat_app import ChatApp, Script, ok_stream, send
from chat_fakes import FakeStream, fixed_record

SIZE = (120, 36)


def test_chat_empty(snap_compare):
    assert snap_compare(ChatApp(Script()), terminal_size=SIZE, run_before=lambda p: p.pause(0.3))


def test_chat_mid_conversation(snap_compare):
    streaming = FakeStream(
        ["The second answer ", "is streaming ", "and not done"], fixed_record(), hold=True
    )
    script = Script([ok_stream(), streaming])

    async def run_before(pilot):
        await pilot.pause(0.2)
        await send(pilot, "Write an add function")
        await send(pilot, "Now explain it", wait=0.5)

    assert snap_compare(ChatApp(script), terminal_size=SIZE, run_before=run_before)


def test_chat_errors_keep_the_conversation(snap_compare):
    midstream = FakeStream(
        ["The answer is"],
        fixed_record(ttft=0.12, e2e=0.3, completion=3, finish=None),
        error="InternalServerError: engine dead",
    )
    too_long = FakeStream(
        [],
        fixed_record(finish=None, completion=None, prompt=None),
        status=400,
        error="HTTP 400: BadRequestError: This model's maximum context length is 1024 "
        "tokens. However, your prompt contains 1500 input tokens.",
    )
    script = Script([midstream, too_long])

    async def run_before(pilot):
        await pilot.pause(0.2)
        await send(pilot, "What is the answer?")
        await send(pilot, "A very long question", wait=0.5)
        pilot.app.clear_notifications()
        await pilot.pause(0.1)

    assert snap_compare(ChatApp(script), terminal_size=SIZE, run_before=run_before)


def test_chat_ab_side_by_side(snap_compare):
    script = Script(
        per_model={
            "tiny-llama": lambda: ok_stream(
                ["Answer **A**: 42."], ttft=0.038, e2e=1.038, completion=72
            ),
            "llama-8b": lambda: ok_stream(
                ["Answer B: forty-two, ", "said slowly."], ttft=0.21, e2e=4.21, completion=101
            ),
        }
    )

    async def run_before(pilot):
        await pilot.pause(0.2)
        await pilot.click("#ab-toggle")
        pilot.app.query_one("#target-b Select").value = 1  # the second engine found
        await pilot.pause(0.1)
        await send(pilot, "What is six times seven?", wait=0.5)

    assert snap_compare(ChatApp(script), terminal_size=SIZE, run_before=run_before)
