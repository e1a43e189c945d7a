"""Start a real vLLM from a launch spec as a plain process (not through the supervisor),
for tests of other layers; always stopped with its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


@contextlib.contextmanager
def running_vllm(spec, log_path: Path, ready_timeout_s: float) -> Iterator[subprocess.Popen]:
    """Yield the engine process once /health answers 200; fail with the log's tail if it
    exits or stays unhealthy; stop the group (SIGINT, then SIGKILL) on the way out."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            spec.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    try:
        t0 = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"vLLM exited with {proc.returncode}:\n{log_path.read_text()[-4000:]}")
            try:
                if httpx.get(spec.health_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - t0 > ready_timeout_s:
                pytest.fail(
                    f"vLLM not healthy after {ready_timeout_s}s:\n{log_path.read_text()[-4000:]}"
                )
            time.sleep(0.5)
        yield proc
    finally:
        try:
            os.killpg(proc.pid, signal.SIGINT)
            proc.wait(timeout=30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def llmops_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """One `llmops` command, a new process (re-attaches from the state files)."""
    import sys

    return subprocess.run(
        [sys.executable, "-m", "llmops_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def live(pids) -> list[int]:
    import psutil

    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def up_ps_top_logs_down(
    profile_file: Path,
    name: str,
    ready_timeout_s: float,
    racers: int = 1,
    kill_api_server: bool = False,
) -> list[int]:
    """`up --wait` (``racers`` of them at once: one starts the engine, the others are
    refused), then `ps`, `top --once`, `logs` (and with ``kill_api_server``, a kill -9 of
    the API server: `ps` shows what outlived it), then `down`, each from a new llmops
    process, each saying the truth about the engine; returns the engine's pids (all gone at
    the end)."""
    import json
    import sys

    from llmops_tui.supervisor.stopcheck import port_answers

    ups = [
        subprocess.Popen(
            [sys.executable, "-m", "llmops_tui", "up", str(profile_file), "--wait"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(racers)
    ]
    results = []
    for p in ups:
        out, err = p.communicate(timeout=ready_timeout_s + 60)
        results.append((p.returncode, out, err))
    try:
        assert [code for code, _o, _e in results].count(0) == 1, results
        for code, out, err in results:
            assert "Traceback" not in err, err
            if code == 0:
                assert f"{name} ready on " in out
            else:
                assert code == 2 and (
                    f"is launching '{name}' right now" in err or "is already " in err
                ), err

        r = llmops_cli("ps", "--json")
        assert r.returncode == 0, r.stderr
        [row] = [x for x in json.loads(r.stdout) if x["name"] == name]
        assert row["phase"] == "ready", row
        pids = row["pids"]
        assert row["pid"] in pids and len(pids) >= 2, ("API server and EngineCore", row)
        r = llmops_cli("ps")
        assert r.returncode == 0 and " ready " in r.stdout and "↳" not in r.stdout, r.stdout

        r = llmops_cli("top", "--once", "--json")
        assert r.returncode == 0, r.stderr
        [eng] = [e for e in json.loads(r.stdout)["engines"] if e["name"] == name]
        assert eng.get("error") in (None, ""), eng
        assert eng["kv_cache_usage"] is not None

        r = llmops_cli("logs", name, "-n", "400")
        assert r.returncode == 0, r.stderr
        assert "Application startup complete" in r.stdout

        if kill_api_server:
            os.kill(row["pid"], signal.SIGKILL)
            time.sleep(1.0)
            left = live(p for p in pids if p != row["pid"])
            assert left, "vLLM's EngineCore/Worker outlive a kill -9 of the API server"
            r = llmops_cli("ps")
            assert f"still running after its main process (pid {row['pid']}) ended" in r.stdout
            assert "VLLM::EngineCore" in r.stdout and f"`llmops down {name}` ends them" in r.stdout
            [again] = [
                x for x in json.loads(llmops_cli("ps", "--json").stdout) if x["name"] == name
            ]
            assert again["phase"] == "failed" and sorted(again["pids"]) == sorted(left), again
            pids = left
    finally:
        down = llmops_cli("down", name, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert down.stdout.startswith(f"stopped {name} in "), down.stdout
    assert f"{len(pids)} process(es) ended, port {row['port']} free" in down.stdout
    assert live(pids) == []
    assert not port_answers("127.0.0.1", row["port"])
    return pids
