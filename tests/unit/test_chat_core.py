"""Chat core: metrics maths, conversation → API messages, store round trip, Markdown export."""

from __future__ import annotations

import json

import pytest

from llmops_tui.chat.metrics import ReplyError, ReplyMetrics, metrics_from_record
from llmops_tui.chat.model import ChatTarget, Conversation, SamplingSettings
from llmops_tui.chat.session import build_request
from llmops_tui.chat.store import ConversationError, ConversationStore, to_markdown
from llmops_tui.client.records import RequestRecord
from llmops_tui.config import paths

A = ChatTarget("a", "http://127.0.0.1:8000", "model-a")
B = ChatTarget("b", "http://127.0.0.1:8001", "model-b")


def test_tok_per_s_excludes_the_first_token():
    m = ReplyMetrics(ttft_s=0.2, e2e_s=2.2, completion_tokens=101)
    assert m.tokens_per_s == pytest.approx(50.0)  # 100 tokens after the first, in 2.0 s


@pytest.mark.parametrize(
    ("n", "ttft", "e2e"),
    [(1, 0.1, 0.5), (0, None, 0.5), (None, 0.1, 0.5), (5, 0.5, 0.5), (5, None, 1.0)],
)
def test_tok_per_s_undefined_without_two_tokens_or_decode_time(n, ttft, e2e):
    assert ReplyMetrics(ttft_s=ttft, e2e_s=e2e, completion_tokens=n).tokens_per_s is None


def test_metrics_from_record_and_line():
    rec = RequestRecord(start=10.0, first_token=10.038, end=11.038, status=200)
    rec.chunk_times = [10.038 + i * 0.01 for i in range(72)]
    rec.prompt_tokens, rec.completion_tokens, rec.token_source = 12, 72, "usage"
    rec.finish_reason = "length"
    m = metrics_from_record(rec)
    assert m.ttft_s == pytest.approx(0.038)
    assert m.e2e_s == pytest.approx(1.038)
    assert m.tokens_per_s == pytest.approx(71.0)
    assert m.line() == "TTFT 38 ms · 71.0 tok/s · in 12 · out 72 · length"


def test_metrics_without_usage_count_chunks_and_say_so():
    rec = RequestRecord(start=0.0, first_token=0.001, end=0.011, status=200)
    rec.chunk_times = [0.001, 0.006, 0.011]
    m = metrics_from_record(rec, cancelled=True)
    assert (m.completion_tokens, m.token_source, m.finish_reason) == (3, "chunks", "cancelled")
    assert m.line() == "TTFT 1.0 ms · 200.0 tok/s · in — · out 3~ · cancelled"


def test_api_messages_alternate_and_skip_failed_turns():
    conv = Conversation(targets=[A], system_prompt="be brief")
    conv.add_user("one")
    r = conv.add_reply(0)
    r.content, r.metrics = "uno", ReplyMetrics(finish_reason="stop")
    conv.add_user("two")
    bad = conv.add_reply(0)
    bad.content, bad.error = "half", ReplyError("interrupted", "engine stopped")
    conv.add_user("three")
    conv.add_reply(0)  # the reply now streaming: not sent
    assert conv.api_messages(0) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "uno"},
        {"role": "user", "content": "three"},
    ]


def test_ab_columns_each_see_their_own_replies():
    conv = Conversation(targets=[A, B])
    conv.add_user("q1")
    for col, text in ((0, "a1"), (1, "b1")):
        m = conv.add_reply(col)
        m.content, m.metrics = text, ReplyMetrics(finish_reason="stop")
    conv.add_user("q2")
    assert [m["content"] for m in conv.api_messages(1)] == ["q1", "b1", "q2"]
    assert [m["content"] for m in conv.api_messages(0)] == ["q1", "a1", "q2"]


def test_build_request_carries_sampling_settings():
    conv = Conversation(
        targets=[A],
        settings=SamplingSettings(
            temperature=0.0,
            top_p=0.9,
            max_tokens=64,
            stop=["###"],
            seed=7,
            extra={"ignore_eos": True},
        ),
    )
    conv.add_user("hi")
    body = build_request(conv).body()
    assert body["model"] == "model-a" and body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    for key, value in {
        "temperature": 0.0,
        "top_p": 0.9,
        "max_tokens": 64,
        "stop": ["###"],
        "seed": 7,
        "ignore_eos": True,
    }.items():
        assert body[key] == value, key
    assert body["messages"] == [{"role": "user", "content": "hi"}]


def _sample_conversation() -> Conversation:
    conv = Conversation(
        targets=[A, B],
        system_prompt="You are terse.",
        settings=SamplingSettings(temperature=0.0, max_tokens=32, stop=["\n\n"], seed=1),
    )
    conv.add_user("Write hello world in Python")
    a = conv.add_reply(0)
    a.content = "```python\nprint('hello world')\n```"
    a.metrics = ReplyMetrics(0.038, 1.038, 12, 72, "usage", "stop")
    b = conv.add_reply(1)
    b.content = "print"
    b.metrics = ReplyMetrics(0.5, 0.6, 12, 1, "usage", "error")
    b.error = ReplyError("interrupted", "the engine stopped mid-reply: engine dead", "raw")
    return conv


def test_store_round_trip_and_listing():
    store = ConversationStore()
    assert store.root == paths().data / "conversations"
    conv = _sample_conversation()
    path = store.save(conv)
    assert path.parent == store.root and path.name == f"{conv.id}.json"
    back = store.load(conv.id)
    assert back.to_dict() == conv.to_dict()
    assert back.messages[2].error == conv.messages[2].error
    assert back.messages[1].metrics.tokens_per_s == pytest.approx(71.0)
    (store.root / "broken.json").write_text('{"id": "x",\n "messages": [}')
    summaries, problems = store.list()
    assert [s.id for s in summaries] == [conv.id]
    assert summaries[0].turns == 1 and summaries[0].models == ("model-a", "model-b")
    assert len(problems) == 1 and "broken.json:2: not valid JSON" in problems[0]


def test_store_rejects_bad_files_with_the_reason(tmp_path):
    store = ConversationStore(tmp_path)
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ConversationError, match=r"list\.json: expected a JSON object, got list"):
        store.load("list")
    (tmp_path / "role.json").write_text(json.dumps({"id": "role", "messages": [{"role": "bot"}]}))
    with pytest.raises(ConversationError, match=r"role: expected 'user' or 'assistant', got 'bot'"):
        store.load("role")
    with pytest.raises(ConversationError, match="no such conversation"):
        store.load("nope")
    with pytest.raises(ConversationError, match="conversation id"):
        store.load("../etc/passwd")


def test_markdown_export():
    conv = _sample_conversation()
    md = to_markdown(conv)
    assert md.startswith("# Write hello world in Python\n")
    assert "- Target A: `model-a` at http://127.0.0.1:8000 (a)" in md
    assert "- Sampling: temperature 0.0, max tokens 32, seed 1, stop '\\n\\n'" in md
    assert "## System\n\nYou are terse.\n" in md
    assert "## User\n\nWrite hello world in Python\n" in md
    assert "### A · model-a\n\n```python\nprint('hello world')\n```\n" in md
    assert "*TTFT 38 ms · 71.0 tok/s · in 12 · out 72 · stop*" in md
    assert "> **Error (interrupted):** the engine stopped mid-reply: engine dead" in md
    path = ConversationStore().export_markdown(conv)
    assert path.read_text() == md and path.suffix == ".md"


def test_parse_settings_round_trip_and_precise_problems():
    from llmops_tui.chat.model import parse_settings, settings_fields

    s, problems = parse_settings(
        {
            "temperature": "0.7",
            "top_p": "",
            "max_tokens": "128",
            "stop": "###,\\n\\n",
            "seed": "3",
            "extra": '{"ignore_eos": true}',
        }
    )
    assert problems == []
    assert (s.temperature, s.top_p, s.max_tokens, s.stop, s.seed) == (
        0.7,
        None,
        128,
        ["###", "\n\n"],
        3,
    )
    assert s.extra == {"ignore_eos": True}
    assert parse_settings(settings_fields(s)) == (s, [])
    _, problems = parse_settings(
        {"temperature": "hot", "top_p": "1.5", "max_tokens": "0", "seed": "1.5", "extra": "[1]"}
    )
    assert problems == [
        "temperature: expected a number, got 'hot'",
        "top p: expected 0.0 to 1.0, got 1.5",
        "max tokens: expected 1 to 10000000, got 0",
        "seed: expected a whole number, got '1.5'",
        "extra body: expected a JSON object, got list",
    ]


def test_extra_body_fields_that_break_one_streamed_reply_are_refused():
    from llmops_tui.chat.model import parse_settings

    _, problems = parse_settings({"extra": '{"n": 3, "stream": false, "ignore_eos": true}'})
    assert problems == [
        "extra body: 'stream' cannot be set here (the chat always streams)",
        "extra body: n=3 asks for several replies per turn and the chat shows one "
        "(compare two engines with A/B instead)",
    ]
    s, problems = parse_settings({"extra": '{"n": 1, "min_tokens": 4}'})
    assert problems == [] and s.extra == {"n": 1, "min_tokens": 4}
