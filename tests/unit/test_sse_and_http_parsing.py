"""The streaming client's parsing, fed raw bytes: SSE events, HTTP chunking, errors, usage."""

from __future__ import annotations

import asyncio
import json

import pytest

from llmops_tui.client.http import _Connection
from llmops_tui.client.records import ChatRequest, CompletionRequest, RequestRecord, count_with
from llmops_tui.client.sse import DeltaSink, EventSink, SSEDecoder

# --------------------------------------------------------------------------- SSE decoder


def feed_all(parts: list[bytes]) -> list[bytes]:
    dec = SSEDecoder()
    out: list[bytes] = []
    for p in parts:
        out += dec.feed(p)
    return out


def test_sse_events_split_across_reads_byte_by_byte():
    stream = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'
    assert feed_all([stream]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]
    assert feed_all([bytes([c]) for c in stream]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]


def test_sse_incomplete_event_is_held_until_its_blank_line():
    dec = SSEDecoder()
    assert dec.feed(b'data: {"a"') == []
    assert dec.feed(b":1}\n") == []
    assert dec.feed(b"\n") == [b'{"a":1}']


def test_sse_crlf_line_endings_even_when_split_between_cr_and_lf():
    stream = b'data: {"a":1}\r\n\r\ndata: x\r\n\r\n'
    expected = [b'{"a":1}', b"x"]
    assert feed_all([stream]) == expected
    for cut in range(1, len(stream)):
        assert feed_all([stream[:cut], stream[cut:]]) == expected, cut


def test_sse_comments_other_fields_and_multiline_data():
    stream = b": ping\n\nevent: message\nid: 7\ndata: line1\ndata:line2\n\nretry: 10\n\n"
    assert feed_all([stream]) == [b"line1\nline2"]


# --------------------------------------------------------------------------- HTTP + SSE → record


class FakeTransport(asyncio.Transport):
    def __init__(self):
        super().__init__()
        self.closed = False
        self.written = b""

    def write(self, data):
        self.written += data

    def close(self):
        self.closed = True

    def is_closing(self):
        return self.closed

    def get_extra_info(self, name, default=None):
        return default


def completion_event(text: str, finish: str | None = None) -> bytes:
    obj = {
        "id": "cmpl-1",
        "object": "text_completion",
        "choices": [
            {
                "index": 0,
                "text": text,
                "logprobs": None,
                "finish_reason": finish,
                "stop_reason": None,
            }
        ],
        "usage": None,
    }
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def usage_event(prompt: int, completion: int) -> bytes:
    obj = {
        "id": "cmpl-1",
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": 0},
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\n"  # spaced JSON on purpose


def chunked(*events: bytes, last: bool = True) -> bytes:
    body = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events)
    return body + (b"0\r\n\r\n" if last else b"")


HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


def run_bytes(
    parts: list[bytes], sink_cls=EventSink, content_key=b'"text"', times=None, keep_raw=False
):
    """Feed raw response bytes to a connection; return (record, keep_alive, sink)."""
    loop = asyncio.new_event_loop()
    try:
        rec = RequestRecord(start=0.0)
        sink = (
            sink_cls(rec, content_key)
            if sink_cls is not EventSink
            else EventSink(rec, content_key, keep_raw=keep_raw)
        )
        conn = _Connection()
        conn.connection_made(FakeTransport())
        done = loop.create_future()
        conn._reset(sink, done)
        import llmops_tui.client.http as client_mod

        clock = iter(times) if times else None
        real = client_mod.time.perf_counter
        if clock:
            client_mod.time.perf_counter = lambda: next(clock)
        try:
            for p in parts:
                conn.data_received(p)
                if done.done():
                    break
        finally:
            client_mod.time.perf_counter = real
        keep = done.result() if done.done() else None
        return rec, keep, sink
    finally:
        loop.close()


def normal_stream() -> bytes:
    return HEAD + chunked(
        completion_event(" a"),
        completion_event(" b"),
        completion_event(" c"),
        completion_event(" d", finish="length"),
        usage_event(5, 4),
        b"data: [DONE]\n\n",
    )


def test_whole_response_in_one_read():
    rec, keep, sink = run_bytes([normal_stream()])
    assert keep is True and sink.done
    assert rec.status == 200 and rec.error is None
    assert len(rec.chunk_times) == 4
    assert (rec.prompt_tokens, rec.completion_tokens, rec.token_source) == (5, 4, "usage")
    assert rec.finish_reason == "length"


@pytest.mark.parametrize("step", [1, 2, 3, 7, 13, 50])
def test_response_cut_into_reads_of_any_size_gives_the_same_record(step):
    raw = normal_stream()
    parts = [raw[i : i + step] for i in range(0, len(raw), step)]
    rec, keep, _ = run_bytes(parts)
    assert keep is True
    assert len(rec.chunk_times) == 4
    assert rec.completion_tokens == 4 and rec.finish_reason == "length"


def test_every_two_way_cut_of_the_response():
    raw = normal_stream()
    for cut in range(1, len(raw)):
        rec, keep, _ = run_bytes([raw[:cut], raw[cut:]])
        assert keep is True, cut
        assert len(rec.chunk_times) == 4, cut
        assert rec.completion_tokens == 4, cut


def test_ttft_and_itl_come_from_the_read_times():
    # one read per HTTP chunk; perf_counter returns these values in turn
    events = [completion_event(" a"), completion_event(" b"), completion_event(" c", "length")]
    parts = [HEAD + chunked(events[0], last=False)]
    parts += [chunked(e, last=False) for e in events[1:]]
    parts += [chunked(usage_event(3, 3), b"data: [DONE]\n\n")]
    rec, _, _ = run_bytes(parts, times=[0.100, 0.150, 0.175, 0.180])
    assert rec.ttft == pytest.approx(0.100)  # start is 0.0
    assert rec.itls == pytest.approx([0.050, 0.025])
    assert rec.chunk_times == pytest.approx([0.100, 0.150, 0.175])


def test_empty_first_text_does_not_count_as_first_token():
    raw = HEAD + chunked(
        completion_event(""),
        completion_event(" x"),
        completion_event(" y", "length"),
        usage_event(1, 2),
        b"data: [DONE]\n\n",
    )
    rec, _, _ = run_bytes([raw[:90], raw[90:]])
    assert len(rec.chunk_times) == 2


def test_mid_stream_error_event_like_vllm_sends():
    err = b'data: {"error": {"message": "engine died", "type": "InternalServerError", "code": 500}}\n\n'
    raw = HEAD + chunked(completion_event(" a"), err, b"data: [DONE]\n\n")
    rec, _, _ = run_bytes([raw])
    assert not rec.ok
    assert rec.error == "InternalServerError: engine died"
    assert len(rec.chunk_times) == 1


def test_http_error_status_keeps_the_body_message():
    body = b'{"object":"error","message":"model x does not exist","type":"NotFoundError"}'
    raw = b"HTTP/1.1 404 Not Found\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    rec, keep, _ = run_bytes([raw[:20], raw[20:]])
    assert rec.status == 404
    assert rec.error == "HTTP 404: NotFoundError: model x does not exist"
    assert keep is True


def test_http_error_with_a_non_json_body():
    raw = b"HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 11\r\n\r\nupstream!!!"
    rec, keep, _ = run_bytes([raw])
    assert rec.error == "HTTP 502: upstream!!!" and keep is False


def test_connection_lost_mid_stream_is_an_error_not_a_success():
    raw = HEAD + chunked(completion_event(" a"), completion_event(" b"), last=False)
    loop = asyncio.new_event_loop()
    try:
        rec = RequestRecord()
        conn = _Connection()
        conn.connection_made(FakeTransport())
        done = loop.create_future()
        conn._reset(EventSink(rec, b'"text"'), done)
        conn.data_received(raw)
        conn.connection_lost(ConnectionResetError("reset"))
        assert done.result() is False
        assert "before the response ended" in rec.error
        assert rec.connect_error is False
    finally:
        loop.close()


def test_chunk_extensions_and_data_containing_crlf_fall_back_to_the_exact_path():
    ev = b'data: {"choices":[{"text":"a\\r\\n","finish_reason":null}]}\r\n\r\n'
    last = b'data: {"choices":[{"text":"z","finish_reason":"stop"}]}\r\n\r\n'
    raw = HEAD + b"%x;ext=1\r\n%s\r\n" % (len(ev), ev) + chunked(last, b"data: [DONE]\r\n\r\n")
    rec, keep, _ = run_bytes([raw])
    assert keep is True
    assert len(rec.chunk_times) == 2 and rec.finish_reason == "stop"


def test_chat_deltas_role_chunk_is_not_the_first_token():
    def chat(content, finish=None, role=False):
        delta = {"content": content} | ({"role": "assistant"} if role else {})
        obj = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    raw = HEAD + chunked(
        chat("", role=True),
        chat("Hel"),
        chat("lo"),
        chat("!", "stop"),
        usage_event(3, 3),
        b"data: [DONE]\n\n",
    )
    rec, _, sink = run_bytes([raw], sink_cls=DeltaSink, content_key=b'"content"')
    assert list(sink.deltas) == ["Hel", "lo", "!"]
    assert rec.text == "Hello!" and len(rec.chunk_times) == 3 and rec.completion_tokens == 3
    rec2, _, _ = run_bytes([raw], content_key=b'"content"')
    assert len(rec2.chunk_times) == 3 and rec2.finish_reason == "stop"


def test_without_usage_tokens_are_counted_by_tokenizer_or_chunks():
    raw = HEAD + chunked(
        completion_event(" a b"), completion_event(" c", "length"), b"data: [DONE]\n\n"
    )
    rec, _, _ = run_bytes([raw])
    assert rec.completion_tokens is None
    count_with(None, rec)
    assert (rec.completion_tokens, rec.token_source) == (2, "chunks")
    rec2, _, sink2 = run_bytes([raw], keep_raw=True)
    rec2.text = sink2.collected_text()
    assert rec2.text == " a b c"
    count_with(lambda s: len(s.split()), rec2)
    assert (rec2.completion_tokens, rec2.token_source) == (3, "tokenizer")


def test_request_bodies_ask_for_usage_and_ignore_eos():
    c = CompletionRequest(model="m", prompt="hi", max_tokens=7, ignore_eos=True).body()
    assert c["stream"] is True and c["stream_options"] == {"include_usage": True}
    assert c["ignore_eos"] is True and c["max_tokens"] == 7
    ch = ChatRequest(model="m", messages=[{"role": "user", "content": "x"}]).body()
    assert "ignore_eos" not in ch and ch["stream_options"] == {"include_usage": True}
