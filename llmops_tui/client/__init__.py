"""One streaming client for OpenAI-compatible servers (vLLM, SGLang, TGI).

Shared by the chat tab and the load generator. It speaks HTTP/1.1 itself on
asyncio protocols (no httpx/aiohttp on the hot path): the load generator must
neither be the bottleneck nor distort the latencies it measures, and the
measured ingest ceiling of httpx is ~12x too low (see benchmarks/ and
shared/reference/http-clients.md).

Per event the work is tiny: one ``perf_counter()`` per socket read (every
event in that read gets that arrival time), split HTTP chunks and SSE events
with ``bytes.find``/``split``, and parse JSON only where it is needed — the
events up to the first content token, the last token (finish reason), the
usage chunk and errors. The chat path (:meth:`StreamClient.stream`) parses
every event, since it needs the text.

Two ways to use it::

    client = StreamClient("http://127.0.0.1:8000")
    rec = await client.request(ChatRequest(model="m", messages=[...], max_tokens=64))
    rec.ttft, rec.itls, rec.completion_tokens, rec.error

    async with client.stream(ChatRequest(...)) as s:   # chat: text deltas
        async for delta in s:
            print(delta, end="")
    s.record.usage_source, s.record.finish_reason

Closing the stream (leaving the ``async with`` early, or ``await s.aclose()``)
cancels the request: the connection is closed, the server aborts it.

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
