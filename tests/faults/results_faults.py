"""Helpers for the results fault tests: a local streaming server (benchmarks/sse_server.py),
`llmops bench` as a real subprocess, and broken results databases of every kind."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

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
        m = re.search(r"http://\S+", proc.stdout.readline())
        assert m, "sse_server did not start"
        yield m.group(0)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def served(url: str) -> int:
    """Requests the server has answered a first token to (its own count)."""
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as r:
        return json.loads(r.read())["requests"]


def bench_argv(url: str, *extra: str, num: int = 20, out_len: int = 10) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmops_tui",
        "bench",
        "--base-url",
        url,
        "--model",
        "m",
        "--num-requests",
        str(num),
        "--concurrency",
        "4",
        "--input-len",
        "8",
        "--output-len",
        str(out_len),
        "--quiet",
        *extra,
    ]


def run_bench(url: str, *extra: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        bench_argv(url, *extra, **kw),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


# -- broken databases ---------------------------------------------------------------------
def _good_db(path: Path) -> None:
    from llmops_tui.bench.store import ResultStore

    ResultStore(path).save(
        target={"model": "old"},
        workload={},
        load={},
        summary={"completed": 1},
        requests=[],
    )


def not_a_database(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database\n" * 200)


def truncated(path: Path) -> None:
    """A real database cut short (a disk filled up, a copy interrupted)."""
    _good_db(path)
    for _ in range(40):  # grow it to several pages, then cut it in the middle
        with sqlite3.connect(path) as db:
            db.execute(
                "INSERT INTO runs (created_at, status, target, workload, load, summary)"
                " VALUES (0, 'complete', ?, '{}', '{}', '{}')",
                ("x" * 3000,),
            )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\xff" * 512)


def wrong_schema(path: Path) -> None:
    """A database with a `runs` table that is not ours, marked as schema v1."""
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, note TEXT)")
        db.execute("PRAGMA user_version = 1")


def newer_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("PRAGMA user_version = 99")


def a_folder(path: Path) -> None:
    path.mkdir(parents=True)
    (path / "something").write_text("x")


BROKEN = {
    "not-a-database": not_a_database,
    "truncated": truncated,
    "wrong-schema": wrong_schema,
    "newer-schema": newer_schema,
    "a-folder": a_folder,
}


@contextmanager
def locked(path: Path):
    """Another writer holding results.db's exclusive lock for as long as the block runs."""
    _good_db(path)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def wait_for(pred, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)
