"""kill -9 of each engine process (API server, EngineCore stand-in, a grandchild that left
the tree) and of `llmops down` itself, at different phases (loading, ready, stopping):
`ps` from a new llmops says what runs (phase, every live pid; what outlived the API
server and that `down` ends it), `down` ends everything and says so truly."""

from __future__ import annotations

import json
import os
import signal
import time

import psutil
import pytest
from faults_helpers import alive, engine_pids, llmops, start, state_dir, wait_for

from llmops_tui.supervisor.stopcheck import port_answers


def read_state() -> dict:
    return json.loads((state_dir() / "fk" / "state.json").read_text())


def log_has(text: str) -> bool:
    path = state_dir() / "fk" / "engine.log"
    return path.exists() and text in path.read_text(errors="replace")


def victims(which: str, root: int) -> list[int]:
    children = [c.pid for c in psutil.Process(root).children()]
    return {"api-server": [root], "engine-core": children, "all": [root, *children]}[which]


def ps_row() -> dict:
    r = llmops("ps", "--json")
    assert r.returncode == 0, r.stderr
    [row] = json.loads(r.stdout)
    return row


def down_all_gone(port: int) -> None:
    before = engine_pids("fk")
    r = llmops("down", "fk")
    assert r.returncode == 0, r.stdout + r.stderr
    if not before:  # it had ended and nothing of it ran: down claims nothing
        assert r.stdout.startswith("fk was already "), r.stdout
        assert r.stdout.endswith(": none of its processes is running\n"), r.stdout
    else:
        assert r.stdout.startswith("stopped fk in "), r.stdout
        assert f"({len(before)} process(es) ended, port {port} free, " in r.stdout, r.stdout
    assert engine_pids("fk") == [] and alive(before) == []
    assert not port_answers("127.0.0.1", port)


@pytest.mark.parametrize("which", ["api-server", "engine-core", "all"])
@pytest.mark.parametrize("phase", ["loading", "ready"])
def test_kill9_of_an_engine_process(profile_file, port, phase, which):
    path = profile_file("ok", FAKE_LOAD_S="60" if phase == "loading" else "0.2")
    r = llmops("up", str(path), *(["--wait"] if phase == "ready" else []))
    assert r.returncode == 0, r.stderr
    root = read_state()["pid"]
    if phase == "loading":
        wait_for(lambda: log_has("Starting to load model"), what="loading")
        assert ps_row()["phase"] == "loading"
    wait_for(lambda: len(psutil.Process(root).children()) >= 1, what="EngineCore child")
    killed = victims(which, root)
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: alive(killed) == [], what="killed processes gone")

    row = ps_row()
    running = engine_pids("fk")
    if root in killed:
        assert row["phase"] == "failed", row
        if phase == "loading":  # failed before ready: llmops ends what is left at once
            assert "before it was ready" in row["root_cause"]
            wait_for(lambda: engine_pids("fk") == [], what="leftovers of a failed launch ended")
        else:
            assert "while serving" in row["root_cause"]
            assert row["pids"] == running  # every process that outlived it is listed
            text = llmops("ps").stdout
            if running:
                assert f"still running after its main process (pid {root}) ended" in text
                assert "`llmops down fk` ends them" in text
            else:
                assert "↳" not in text
    else:
        assert row["phase"] == phase and root in row["pids"], row
        assert sorted(row["pids"]) == running
    down_all_gone(port)


def test_kill9_of_the_api_server_leaves_an_escaped_grandchild_shown_and_ended(profile_file, port):
    r = llmops("up", str(profile_file("orphan")), "--wait")
    assert r.returncode == 0, r.stderr
    root = read_state()["pid"]
    tree = {root, *(c.pid for c in psutil.Process(root).children(recursive=True))}
    escaped = [p for p in engine_pids("fk") if p not in tree]
    assert escaped, "the double-forked grandchild left the tree"
    os.kill(root, signal.SIGKILL)
    wait_for(lambda: alive([root]) == [])
    row = ps_row()
    assert row["phase"] == "failed" and set(escaped) <= set(row["pids"])
    assert [p["pid"] for p in row["leftover"]] == row["pids"]
    down_all_gone(port)


def test_kill9_of_the_api_server_while_down_waits_for_it(profile_file, port):
    r = llmops("up", str(profile_file("stubborn")), "--wait")
    assert r.returncode == 0, r.stderr
    root = read_state()["pid"]
    pids = engine_pids("fk")
    down = start("down", "fk", "--grace", "3")
    wait_for(lambda: read_state()["phase"] == "stopping", what="stopping")
    os.kill(root, signal.SIGKILL)
    out, err = down.communicate(timeout=60)
    assert "Traceback" not in err
    assert down.returncode == 0, out + err
    assert out.startswith("stopped fk in ") and f"process(es) ended, port {port} free" in out
    ended = int(out.split("(")[1].split(" process")[0])
    assert ended in (len(pids) - 1, len(pids))  # the root may be gone before down looks
    assert alive(pids) == [] and engine_pids("fk") == []


def test_kill9_of_llmops_down_mid_stop_then_down_again(profile_file, port):
    r = llmops("up", str(profile_file("stubborn")), "--wait")
    assert r.returncode == 0, r.stderr
    pids = engine_pids("fk")
    down = start("down", "fk", "--grace", "30")
    wait_for(lambda: read_state()["phase"] == "stopping", what="stopping")
    time.sleep(0.3)
    down.kill()  # the stopping llmops dies; the stubborn engine ignored its SIGINT
    down.communicate()
    row = ps_row()
    assert row["phase"] == "stopping" and row["pids"] == pids, row
    r = llmops("down", "fk", "--grace", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"({len(pids)} process(es) ended, port {port} free" in r.stdout
    assert alive(pids) == [] and ps_row()["phase"] == "stopped"
