"""Chat tab behaviour through Pilot: stop key, batching, store/reopen, copy, export, bad input."""

from __future__ import annotations

from chat_app import ChatApp, Script, ok_stream, send
from chat_fakes import FakeStream, fixed_record

from llmops_tui.chat.store import ConversationStore
from llmops_tui.ui.tabs.chat import ChatTab
from llmops_tui.ui.tabs.chat_widgets import ReplyView, UserBubble


async def test_escape_stops_the_reply_and_closes_the_stream():
    held = FakeStream(["partial ", "text"], fixed_record(finish=None), hold=True)
    app = ChatApp(Script([held]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await send(pilot, "go on forever")
        tab = app.query_one(ChatTab)
        assert tab.busy
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert held.closed and not tab.busy
        reply = tab.conversation.messages[-1]
        assert reply.cancelled and reply.content == "partial text" and reply.error is None
        view = app.query(ReplyView).last()
        assert view.source == "partial text"
        assert str(view.query_one(".reply-metrics").render()).endswith("· cancelled")


async def test_fast_stream_is_rendered_in_batches_and_completely():
    deltas = [f"w{i} " for i in range(3000)]
    app = ChatApp(Script([FakeStream(deltas, fixed_record())]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await send(pilot, "flood", wait=0.1)
        tab = app.query_one(ChatTab)
        while tab.busy:
            await pilot.pause(0.05)
        await pilot.pause(0.1)
        view = app.query(ReplyView).last()
        assert view.tokens_fed == 3000
        assert view.source == "".join(deltas)
        # One Markdown update per frame, not per token.
        assert 1 <= view.updates <= 3000 / 20, view.updates


async def test_turns_are_saved_reopened_copied_and_exported():
    store = ConversationStore()
    app = ChatApp(Script([ok_stream(), ok_stream(["second"])]), store=store)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await send(pilot, "first question")
        await send(pilot, "second question")
        tab = app.query_one(ChatTab)
        conv_id = tab.conversation.id
        saved = store.load(conv_id)
        assert [m.content for m in saved.messages] == [
            "first question",
            "".join(ok_stream().deltas),
            "second question",
            "second",
        ]
        await pilot.press("ctrl+y")
        assert app.clipboard == "second"
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        md = (store.root / f"{conv_id}.md").read_text()
        assert "## User\n\nsecond question\n" in md

        await pilot.press("ctrl+n")
        await pilot.pause(0.2)
        assert not app.query(ReplyView) and tab.conversation.messages == []

        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await pilot.press("enter")  # the newest (only) conversation
        await pilot.pause(0.4)
        assert tab.conversation.id == conv_id
        assert [b.text for b in app.query(UserBubble)] == ["first question", "second question"]
        views = list(app.query(ReplyView))
        assert [v.source for v in views] == [saved.messages[1].content, "second"]
        assert "TTFT 50 ms · 100.0 tok/s" in str(views[0].query_one(".reply-metrics").render())


async def test_bad_settings_are_named_and_nothing_is_sent():
    script = Script([ok_stream()])
    app = ChatApp(script)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        app.query_one("#set-temperature").value = "hot"
        app.query_one("#set-max_tokens").value = "0"
        await send(pilot, "hello")
        problems = str(app.query_one("#chat-problems").render())
        assert "temperature: expected a number, got 'hot'" in problems
        assert "max tokens: expected 1 to 10000000, got 0" in problems
        assert script.requests == [] and app.query_one("#prompt").value == "hello"


async def test_settings_and_system_prompt_go_into_the_request():
    script = Script([ok_stream()])
    app = ChatApp(script)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        app.query_one("#system-prompt").value = "You are terse."
        app.query_one("#set-temperature").value = "0"
        app.query_one("#set-seed").value = "5"
        app.query_one("#set-extra").value = '{"ignore_eos": true}'
        await send(pilot, "hello")
        body = script.requests[0].body()
        assert body["messages"][0] == {"role": "system", "content": "You are terse."}
        assert (body["temperature"], body["seed"], body["ignore_eos"]) == (0.0, 5, True)
        assert body["model"] == "tiny-llama"


async def test_long_reply_freezes_finished_blocks_and_keeps_the_whole_text():
    block = "Para with **bold** text.\n\n```python\ndef f(x):\n    return x\n```\n\n- a\n- b\n\n"
    text = block * 40
    deltas = [text[i : i + 4] for i in range(0, len(text), 4)]
    app = ChatApp(Script([FakeStream(deltas, fixed_record())]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await send(pilot, "long", wait=0.1)
        tab = app.query_one(ChatTab)
        while tab.busy:
            await pilot.pause(0.05)
        view = app.query(ReplyView).last()
        assert view.source == text == tab.conversation.messages[-1].content
        # Finished blocks went into frozen pieces; only the last block stayed live.
        assert view.segments > 1
        assert view.body.live.source == "- a\n- b\n\n"
        # Every block rendered: 40 code blocks' lines are on the page, nothing lost.
        rendered = "\n".join(view.body.text_lines())
        assert rendered.count("def f(x):") == 40 and rendered.count("bold") == 40
        # The layout got the exact height once streaming ended (no reserved lines left).
        assert view.body.virtual_size.height == len(view.body.text_lines())


async def test_a_huge_single_block_is_cut_while_streaming_and_joined_at_the_end():
    text = "```python\n" + "".join(f"value_{i} = {i}\n" for i in range(1200)) + "```\n"
    deltas = [text[i : i + 8] for i in range(0, len(text), 8)]
    held = FakeStream(deltas, fixed_record(finish=None), hold=True)
    app = ChatApp(Script([held]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await send(pilot, "huge", wait=0.05)
        tab = app.query_one(ChatTab)
        view = app.query(ReplyView).last()
        while view.tokens_fed < len(deltas):
            await pilot.pause(0.02)
        await pilot.pause(0.3)
        # Cut while it streamed: the live tail stayed short.
        assert view.segments >= 2 and len(view.body.live.source) <= 4000
        await pilot.press("escape")  # the reply ends (stopped): its cuts are joined
        while tab.busy:
            await pilot.pause(0.02)
        assert view.segments == 1 and view.source == text  # one code block again
        live = view.body.live
        assert live.prefix == "" and not live.continues
        await pilot.pause(0.1)
        assert view.body.virtual_size.height >= 1200  # every line of code rendered
        lines = view.body.text_lines()
        assert sum("value_" in line for line in lines) == 1200


async def test_a_block_too_long_to_join_stays_cut_with_every_line_rendered():
    from llmops_tui.ui.tabs.chat_widgets import JOIN_MAX_CHARS

    text = "```python\n" + "".join(f"value_{i} = {i}\n" for i in range(2600)) + "```\n"
    assert len(text) > JOIN_MAX_CHARS
    deltas = [text[i : i + 64] for i in range(0, len(text), 64)]
    app = ChatApp(Script([FakeStream(deltas, fixed_record())]))
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.2)
        await send(pilot, "huge", wait=0.05)
        tab = app.query_one(ChatTab)
        while tab.busy:
            await pilot.pause(0.05)
        view = app.query(ReplyView).last()
        # Not joined into one block at the end (rendering it whole would hold the screen),
        # yet the text is whole and every line of code is on the page.
        assert view.segments > 1 and view.source == text
        lines = view.body.text_lines()
        assert sum("value_" in line for line in lines) == 2600
