"""Helpers shared by the benchmark scripts: start the zero-cost server pinned to a core, run pinned."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
APP_PYTHON = sys.executable
VLLM_PYTHON = Path(
    os.environ.get("LLMOPS_TEST_VLLM_PYTHON", "~/.cache/llmops-ci/envs/ci-vllm/bin/python")
).expanduser()


def pinned(core: int | None, argv: list[str]) -> list[str]:
    if core is None or shutil.which("taskset") is None:
        return argv
    return ["taskset", "-c", str(core), *argv]


@contextmanager
def zero_cost_server(core: int | None, *args: str):
    """Start benchmarks/sse_server.py on a free port; yield its base URL."""
    proc = subprocess.Popen(
        pinned(core, [APP_PYTHON, str(HERE / "sse_server.py"), "--port", "0", *args]),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        m = re.search(r"http://\S+", line)
        if not m:
            raise RuntimeError(f"server did not start: {line!r}")
        yield m.group(0)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def post(url: str) -> None:
    req = urllib.request.Request(url, data=b"{}", method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()


def run_llmops_bench(core: int | None, base_url: str, *args: str) -> dict:
    out = Path(f"/tmp/llmops-bench-{os.getpid()}-{time.monotonic_ns()}.json")
    argv = [APP_PYTHON, "-m", "llmops_tui", "bench", "--base-url", base_url, "--model", "zero-cost"]
    argv += ["--no-save", "--quiet", "--json", str(out), *args]
    subprocess.run(
        pinned(core, argv),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def run_vllm_bench(core: int | None, base_url: str, tokenizer: str, *args: str) -> dict:
    """`vllm bench serve` with --save-result; returns its result JSON."""
    result_dir = Path(f"/tmp/vllm-bench-{os.getpid()}-{time.monotonic_ns()}")
    result_dir.mkdir()
    argv = [str(VLLM_PYTHON), str(HERE / "vllm_bench_serve.py"), "--backend", "openai"]
    argv += ["--base-url", base_url, "--model", "zero-cost", "--tokenizer", tokenizer]
    argv += ["--save-result", "--result-dir", str(result_dir), "--result-filename", "r.json"]
    argv += ["--disable-tqdm", "--ready-check-timeout-sec", "0", *args]
    env = {**os.environ, "VLLM_TARGET_DEVICE": "cpu"}
    proc = subprocess.run(
        pinned(core, argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(f"vllm bench serve failed:\n{proc.stderr[-3000:]}")
    return json.loads((result_dir / "r.json").read_text())


def tiny_tokenizer() -> str:
    """A tokenizer folder for vllm bench serve (it needs one): the test tiny model, made once."""
    out = Path(os.environ.get("LLMOPS_BENCH_TOKENIZER", "/tmp/tiny-llama-bench"))
    if not (out / "tokenizer.json").exists():
        subprocess.run(
            [str(VLLM_PYTHON), str(ROOT / "tests/fixtures/make_tiny_model.py"), str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return str(out)
