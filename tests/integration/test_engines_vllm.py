"""Engines with the real vLLM CPU build: the `llmops` CLI as separate processes, SIGKILLed
mid-launch; re-attach; chat; down; a launch vLLM rejects; up/down cycles leave nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from llmops_tui.profiles.store import to_toml
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.supervisor.health import port_in_use

READY_TIMEOUT_S = 240


def llmops(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmops_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def ps_json() -> list[dict]:
    r = llmops("ps", "--json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def alive(pids) -> list[int]:
    out = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.append(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def processes_using(path: str) -> list[int]:
    """Every live process whose command line mentions path (the tiny model's folder)."""
    out = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            mentions = any(path in a for a in p.info["cmdline"] or [])
            if mentions and p.pid != os.getpid() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.Error:
            pass
    return out


@pytest.fixture
def profile_file(tiny_profile, tmp_path) -> Path:
    path = tmp_path / f"{tiny_profile.name}.toml"
    path.write_text(to_toml(tiny_profile))
    return path


@pytest.fixture
def cleanup(tiny_profile):
    yield
    sup = Supervisor()
    if sup.get(tiny_profile.name) is not None and sup.process_pids(tiny_profile.name):
        sup.down(tiny_profile.name, grace=5)


def test_engine_outlives_a_killed_llmops_and_is_reattached(tiny_profile, profile_file, cleanup):
    name, port = tiny_profile.name, tiny_profile.port
    cli = subprocess.Popen(
        [sys.executable, "-m", "llmops_tui", "up", str(profile_file), "--wait"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    state = Path(os.environ["LLMOPS_STATE_DIR"]) / "engines" / name / "state.json"
    deadline = time.monotonic() + READY_TIMEOUT_S
    phase = None
    while time.monotonic() < deadline and cli.poll() is None:
        if state.exists():
            phase = json.loads(state.read_text())["phase"]
            if phase == "loading":
                break
        time.sleep(0.2)
    assert phase == "loading", (phase, cli.poll())
    cli.send_signal(signal.SIGKILL)  # `llmops up --wait` dies mid-launch
    cli.wait()

    rows: list[dict] = []
    while time.monotonic() < deadline:
        rows = ps_json()  # a brand-new llmops each time: re-attach from state.json
        if rows and rows[0]["phase"] in ("ready", "failed", "stopped"):
            break
        time.sleep(2)
    [row] = rows
    assert row["phase"] == "ready", row
    assert row["name"] == name and row["port"] == port
    pids = row["pids"]
    assert row["pid"] in pids and len(pids) >= 2, "API server and EngineCore"

    body = {
        "model": row["served_model_name"],
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 8,
        "ignore_eos": True,
    }
    r = httpx.post(row["base_url"] + "/v1/chat/completions", json=body, timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["completion_tokens"] == 8

    # The monitor finds the re-attached engine through the supervisor (no --url given).
    r = llmops("top", "--once", "--json")
    assert r.returncode == 0, r.stderr
    top = json.loads(r.stdout)
    [eng] = [e for e in top["engines"] if e["name"] == name]
    assert eng.get("error") in (None, ""), eng
    assert eng["kv_cache_usage"] is not None

    r = llmops("down", name, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"stopped {name}" in r.stdout
    assert alive(pids) == []
    assert processes_using(str(tiny_profile.model)) == []
    assert not port_in_use("127.0.0.1", port)
    assert ps_json()[0]["phase"] == "stopped"


def test_profile_vllm_rejects_fails_with_vllm_own_explanation(tiny_profile, profile_file, cleanup):
    t0 = time.monotonic()
    r = llmops("up", str(profile_file), "--wait", "--set", "gpu_memory_fraction=0.99", timeout=300)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert f"{tiny_profile.name} failed: ValueError: Available memory on node 0" in r.stderr
    assert "less than desired CPU memory utilization (0.99" in r.stderr
    [row] = ps_json()
    assert row["phase"] == "failed" and row["pids"] == []
    assert row["root_cause"].startswith("ValueError: Available memory")
    # llmops concluded "failed" while vLLM's processes were still alive (then stopped them).
    assert row["processes_at_failure"] >= 1
    log = Path(row["log_path"]).read_text()
    assert "ValueError: Available memory" in log
    assert processes_using(str(tiny_profile.model)) == []
    print(f"failed after {took:.1f} s; detection {row['failed_at'] - row['started_at']:.1f} s")


def test_up_down_cycles_leave_no_process(tiny_profile, cleanup):
    sup = Supervisor()
    seen: set[int] = set()
    for _ in range(3):
        rec = sup.up(tiny_profile, wait=True, timeout=READY_TIMEOUT_S)
        assert rec.phase == "ready"
        seen.update(sup.process_pids(rec.name))
        sup.down(rec.name)
        assert alive(seen) == []
        assert not port_in_use("127.0.0.1", tiny_profile.port)
    assert len(seen) >= 6
    assert processes_using(str(tiny_profile.model)) == []
