"""`llmops bench` and the streaming client against benchmarks/sse_server.py (a local SSE server):
the --json report, a server dying mid-run, Ctrl-C, and the chat stream API."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from llmops_tui.bench.store import ResultStore
from llmops_tui.cli import main
from llmops_tui.client.http import StreamClient
from llmops_tui.client.records import ChatRequest, CompletionRequest
from llmops_tui.config import paths

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def sse_server(*args: str):
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks/sse_server.py"), "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://\S+", line)
        assert m, f"server did not start: {line!r}"
        yield m.group(0)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_json_report_has_the_documented_keys(tmp_path, capsys):
    out = tmp_path / "r.json"
    csv_path = tmp_path / "r.csv"
    with sse_server("--ttft-ms", "20", "--itl-ms", "1") as url:
        rc = main(
            [
                "bench",
                "--base-url",
                url,
                "--model",
                "zero-cost",
                "--num-requests",
                "12",
                "--concurrency",
                "4",
                "--input-len",
                "16",
                "--output-len",
                "8",
                "--ignore-eos",
                "--json",
                str(out),
                "--csv",
                str(csv_path),
                "--quiet",
                "--slo-ttft",
                "1000",
            ]
        )
    assert rc == 0, capsys.readouterr()
    report = json.loads(out.read_text())
    s = report["summary"]
    for key in (
        "completed",
        "failed",
        "duration_s",
        "request_throughput",
        "output_throughput",
        "total_token_throughput",
        "ttft_ms",
        "tpot_ms",
        "itl_ms",
        "e2el_ms",
    ):
        assert key in s, key
    for key in ("ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"):
        assert {"mean", "p50", "p90", "p99"} <= set(s[key])
    assert (s["completed"], s["failed"]) == (12, 0)
    assert s["total_output_tokens"] == 96
    assert s["goodput"] == s["request_throughput"]
    assert s["ttft_ms"]["p50"] >= 20.0  # the server waits 20 ms before the first token
    assert len(report["requests"]) == 12
    assert all(len(r["itl_ms"]) == 7 for r in report["requests"])
    assert report["workload"]["input_len"] == 16 and report["workload"]["input_len_exact"] is False
    assert len(csv_path.read_text().splitlines()) == 13


def test_server_dying_mid_run_keeps_a_partial_run(tmp_path, capsys):
    with sse_server("--itl-ms", "2", "--die-after", "5") as url:
        rc = main(
            [
                "bench",
                "--base-url",
                url,
                "--model",
                "zero-cost",
                "--num-requests",
                "40",
                "--concurrency",
                "2",
                "--input-len",
                "8",
                "--output-len",
                "30",
                "--quiet",
            ]
        )
    printed = capsys.readouterr().out
    assert rc == 3, printed
    run = ResultStore(paths().results_db).list_runs()[0]
    run = ResultStore(paths().results_db).get(run.id, with_requests=True)
    assert run.partial and run.reason.startswith("server stopped answering")
    assert run.summary["completed"] >= 3
    assert run.summary["failed"] >= 1
    failed = [r for r in run.requests if r["error"]]
    assert failed and all(
        "connection closed" in r["error"] or "cannot connect" in r["error"] for r in failed
    )
    assert run.summary["completed"] + run.summary["failed"] == len(run.requests) < 40


def test_ctrl_c_stops_the_run_and_keeps_it_partial(tmp_path):
    env = {**os.environ}
    with sse_server("--itl-ms", "5") as url:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llmops_tui",
                "bench",
                "--base-url",
                url,
                "--model",
                "m",
                "--num-requests",
                "2000",
                "--concurrency",
                "4",
                "--input-len",
                "8",
                "--output-len",
                "20",
                "--quiet",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        time.sleep(3.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "stopping: keeping what finished" in err
    assert "partial: stopped by the user" in out
    run = ResultStore(paths().results_db).list_runs()[0]
    assert run.partial and run.reason == "stopped by the user"
    assert 0 < run.summary["completed"] < 2000
    assert run.summary["failed"] == 0  # requests cut off by the stop are not failures


async def test_chat_stream_yields_deltas_and_can_be_cancelled():
    with sse_server("--itl-ms", "1") as url:
        async with StreamClient(url) as client:
            req = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=5)
            async with client.stream(req) as s:
                deltas = [d async for d in s]
            assert deltas == [" tok"] * 5
            assert s.record.ok and s.record.completion_tokens == 5
            assert s.record.finish_reason == "length" and s.record.ttft > 0

            long = ChatRequest(
                model="m", messages=[{"role": "user", "content": "x"}], max_tokens=10_000
            )
            got = 0
            async with client.stream(long) as s2:
                async for _ in s2:
                    got += 1
                    if got == 3:
                        break
            assert s2.record.error == "cancelled"
            # the client still works after a cancelled stream
            rec = await client.request(CompletionRequest(model="m", prompt="a b", max_tokens=4))
            assert rec.ok and rec.completion_tokens == 4 and len(rec.chunk_times) == 4


async def test_keep_alive_connections_are_reused():
    with sse_server() as url:
        client = StreamClient(url)
        for _ in range(5):
            rec = await client.request(CompletionRequest(model="m", prompt="a", max_tokens=3))
            assert rec.ok
        assert len(client._idle) == 1
        await client.aclose()


async def test_unknown_route_is_an_http_error_with_its_message():
    with sse_server() as url:
        rec = await StreamClient(url + "/prefix").request(CompletionRequest(model="m", prompt="a"))
    assert rec.status == 404 and rec.error.startswith("HTTP 404: no route")
    await asyncio.sleep(0)
