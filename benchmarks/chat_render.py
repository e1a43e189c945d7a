"""Render cost per token of the Chat tab at simulated 1,000 and 5,000 tok/s.

A paced fake stream feeds Markdown deltas (prose, lists, Python code fences) into
the real ChatTab under ``App.run_test`` (headless, a 120×40 screen), the way the
client hands them over: a burst of deltas per socket read (here every 5 ms).
Measured per run:

- CPU time per token: process CPU (user+sys) during the stream ÷ tokens, minus
  the idle app's CPU over the same wall time (reported separately too);
- updates/s: renders of the reply's live tail per second of streaming (its frame rate);
- event-loop lag while streaming: a 10 ms ticker's overshoot (p50/p99/max) — what a
  key press waits at worst before it is handled;
- drain: time from the last delta to the reply fully rendered.

Usage: python benchmarks/chat_render.py [--seconds 5] [--rates 1000,5000] [--frame-ms 50]
``--frame-ms 0`` renders as often as possible (what Markdown.get_stream does).
``--network`` streams from a local server instead (benchmarks/sse_server.py, the same
Markdown text, one token per SSE event every 1/rate s): the whole path a reply takes
(HTTP + SSE + JSON on the chat network thread, then rendering) is measured, and the
CPU figures include the network thread's share.
``--gc-freeze`` freezes the started app's objects first: the loop lag's p99 is then no
longer set by Python's full garbage collections (100+ ms on a 2-core box).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import zero_cost_server
from textual.app import App, ComposeResult

from llmops_tui.chat.model import ChatTarget
from llmops_tui.client.records import RequestRecord
from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs import chat_widgets
from llmops_tui.ui.tabs.chat import ChatTab
from llmops_tui.ui.tabs.chat_widgets import ReplyView

TEXT = """Here is how the **scheduler** decides, step by step:

1. It takes the waiting requests in order.
2. It checks the *KV cache* for free blocks.
3. It admits what fits and `preempts` what does not.

```python
def admit(queue, free_blocks):
    admitted = []
    for req in queue:
        need = blocks_for(req.prompt_len + req.max_tokens)
        if need > free_blocks:
            break
        free_blocks -= need
        admitted.append(req)
    return admitted
```

The loop stops at the first request that does not fit, so order is kept.
"""


def token_stream():
    """Endless ~4-character deltas cut from TEXT (a token is ~4 characters of English)."""
    i = 0
    n = len(TEXT)
    while True:
        yield TEXT[i : i + 4] if i + 4 <= n else TEXT[i:] + TEXT[: i + 4 - n]
        i = (i + 4) % n


class PacedStream:
    def __init__(self, rate: float, seconds: float, stats: dict) -> None:
        self.rate = rate
        self.total = int(rate * seconds)
        self.stats = stats
        self.record = RequestRecord(start=1.0, first_token=1.001, end=2.0, status=200)
        self.closed = False

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        self.closed = True

    async def aclose(self):
        self.closed = True

    def __aiter__(self):
        return self._run()

    async def _run(self):
        gen = token_stream()
        sent = 0
        t0 = time.perf_counter()
        self.stats["t_first"] = t0
        while sent < self.total and not self.closed:
            due = min(self.total, int((time.perf_counter() - t0) * self.rate) + 1)
            while sent < due:
                sent += 1
                yield next(gen)
            await asyncio.sleep(0.005)  # the next socket read
        self.stats["t_last"] = time.perf_counter()
        self.stats["sent"] = sent
        rec = self.record
        rec.completion_tokens, rec.prompt_tokens, rec.finish_reason = sent, 10, "length"
        rec.token_source = "usage"


class BenchApp(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def __init__(self, factory, base_url: str = "http://127.0.0.1:9") -> None:
        super().__init__()
        self.factory = factory
        self.base_url = base_url

    def compose(self) -> ComposeResult:
        yield ChatTab(
            targets=lambda: [ChatTarget("sim", self.base_url, "sim")],
            probe=False,
            stream_factory=self.factory,
        )


async def lag_probe(stop: asyncio.Event, lags: list[float]) -> None:
    while not stop.is_set():
        t = time.perf_counter()
        await asyncio.sleep(0.010)
        lags.append(time.perf_counter() - t - 0.010)


def cpu() -> float:
    t = time.process_time()
    return t


async def run_one(
    rate: float, seconds: float, gc_freeze: bool = False, base_url: str | None = None
) -> dict:
    stats: dict = {}
    if base_url is None:
        app = BenchApp(lambda target, req: PacedStream(rate, seconds, stats))
    else:  # the real client on the chat network thread, against a local server
        app = BenchApp(None, base_url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.5)
        if base_url is not None:
            app.query_one("#set-max_tokens").value = str(int(rate * seconds))
        if gc_freeze:
            # What an app can do once started: move its startup objects out of the
            # collector's reach, so full collections (100+ ms here) stay short.
            gc.collect()
            gc.freeze()
        # Idle baseline: the app doing nothing for the same wall time. Its loop lag is the
        # floor set by the machine (other processes on the same cores), not by rendering.
        c0, w0 = cpu(), time.perf_counter()
        idle_stop, idle_lags = asyncio.Event(), []
        idle_prober = asyncio.create_task(lag_probe(idle_stop, idle_lags))
        await asyncio.sleep(min(seconds, 2.0))
        idle_stop.set()
        await idle_prober
        idle_cpu_per_s = (cpu() - c0) / (time.perf_counter() - w0)
        idle_lags.sort()

        tab = app.query_one(ChatTab)
        stop, lags = asyncio.Event(), []
        prober = asyncio.create_task(lag_probe(stop, lags))
        prompt = app.query_one("#prompt")
        prompt.focus()
        prompt.value = "explain the scheduler"
        c0, w0 = cpu(), time.perf_counter()
        await pilot.press("enter")
        while tab.busy:
            await asyncio.sleep(0.01)
        w1, c1 = time.perf_counter(), cpu()
        stop.set()
        await prober
        view = app.query(ReplyView).last()
        reply = tab.conversation.messages[-1]
        assert reply.error is None, reply.error
        assert view.source == reply.content
        if base_url is not None:
            times = tab.runs[0]._stream.record.chunk_times  # arrival times (perf_counter)
            stats.update(t_first=times[0], t_last=times[-1], sent=len(times))
        wall = w1 - w0
        stream_s = stats["t_last"] - stats["t_first"]
        tokens = stats["sent"]
        used = c1 - c0
        net = used - idle_cpu_per_s * wall
        lags.sort()
        return {
            "rate": rate,
            "tokens": tokens,
            "delivered_tok_s": tokens / stream_s,
            "cpu_us_per_token": used / tokens * 1e6,
            "net_cpu_us_per_token": net / tokens * 1e6,
            "cpu_share": used / wall,
            "idle_cpu_share": idle_cpu_per_s,
            "updates": view.updates,
            "updates_per_s": view.updates / stream_s,
            "lag_p50_ms": statistics.median(lags) * 1000,
            "lag_p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000,
            "lag_max_ms": lags[-1] * 1000,
            "idle_lag_p99_ms": idle_lags[int(len(idle_lags) * 0.99) - 1] * 1000,
            "drain_ms": (w1 - stats["t_last"]) * 1000,
            "chars": len(view.source),
            "segments": view.segments,
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rates", default="1000,5000")
    ap.add_argument("--frame-ms", type=float, default=chat_widgets.FRAME_S * 1000)
    ap.add_argument("--gc-freeze", action="store_true", help="gc.freeze() once the app has started")
    ap.add_argument(
        "--network", action="store_true", help="stream from a local SSE server (real client)"
    )
    args = ap.parse_args()
    chat_widgets.FRAME_S = args.frame_ms / 1000
    print(
        ("network path (local SSE server), " if args.network else "")
        + f"frame interval {args.frame_ms:g} ms, {args.seconds:g} s of stream per rate"
        + (", gc.freeze() after start" if args.gc_freeze else "")
    )
    for rate in (float(r) for r in args.rates.split(",")):
        if args.network:
            with tempfile.NamedTemporaryFile("w", suffix=".md") as f:
                f.write(TEXT)
                f.flush()
                server_args = ("--itl-ms", str(1000 / rate), "--text", f.name, "--model", "sim")
                with zero_cost_server(None, *server_args) as url:
                    r = asyncio.run(run_one(rate, args.seconds, args.gc_freeze, url))
        else:
            r = asyncio.run(run_one(rate, args.seconds, args.gc_freeze))
        print(
            f"{rate:>6,.0f} tok/s: {r['tokens']:,} tokens ({r['chars']:,} chars) delivered at "
            f"{r['delivered_tok_s']:,.0f} tok/s | CPU {r['cpu_us_per_token']:.1f} µs/token "
            f"({r['net_cpu_us_per_token']:.1f} over idle), {r['cpu_share'] * 100:.0f}% of a core "
            f"(idle app {r['idle_cpu_share'] * 100:.1f}%) | {r['updates_per_s']:.1f} updates/s "
            f"| loop lag p50 {r['lag_p50_ms']:.1f} ms p99 {r['lag_p99_ms']:.1f} ms "
            f"max {r['lag_max_ms']:.1f} ms (idle app p99 {r['idle_lag_p99_ms']:.1f} ms) | drain {r['drain_ms']:.0f} ms "
            f"| {r['segments']} Markdown pieces"
        )


if __name__ == "__main__":
    main()
