"""Concurrent commands on one engine name, each a new llmops: `up`/`up` starts one engine
(the others are refused with the reason), `up`/`down` ends with nothing running and
every message true, `down`/`down` both succeed without claiming what the other did."""

from __future__ import annotations

import json

from faults_helpers import engine_pids, launches, llmops, start, state_dir, wait_for

from llmops_tui.supervisor.stopcheck import port_answers


def finish(p, timeout: float) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=timeout)
    return p.returncode, out, err


def test_concurrent_ups_start_one_engine(profile_file, port):
    path = profile_file()
    ups = [start("up", str(path), "--wait") for _ in range(3)]
    results = [finish(p, 120) for p in ups]
    for _code, _out, err in results:
        assert "Traceback" not in err, err
    winners = [r for r in results if r[0] == 0]
    losers = [r for r in results if r[0] != 0]
    assert len(winners) == 1, results
    for code, _out, err in losers:
        assert code == 2, err
        assert (
            "is launching 'fk' right now" in err  # refused while the winner launched
            or "engine 'fk' is already " in err  # or after: the record says it runs
        ), err
    assert len(launches("fk")) == 1  # one launch's processes, nothing unrecorded
    r = llmops("ps", "--json")
    [row] = json.loads(r.stdout)
    assert row["phase"] == "ready" and sorted(row["pids"]) == engine_pids("fk")
    r = llmops("down", "fk")
    assert r.returncode == 0 and f"port {port} free" in r.stdout, r.stdout + r.stderr
    assert engine_pids("fk") == [] and not port_answers("127.0.0.1", port)


def test_down_during_a_launch_waits_for_it_then_stops_it(profile_file, port):
    path = profile_file(FAKE_LOAD_S="2", slow_preflight=True)
    lock = state_dir() / ".fk.lock"
    up = start("up", str(path), "--wait")
    wait_for(lambda: lock.exists() and "launching" in lock.read_text(), what="up holds the lock")
    r = llmops("down", "fk")
    out, err = up.communicate(timeout=60)
    assert "Traceback" not in err, err
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("stopped fk in ") and f"port {port} free" in r.stdout
    ended = int(r.stdout.split("(")[1].split(" process")[0])
    assert ended >= 1, r.stdout  # it stopped the engine the launch started
    assert up.returncode == 1, out + err  # `up --wait` says its engine did not get ready
    # Its engine was stopped, not failed: it says so, and nothing writes "failed" over it.
    assert "fk was stopp" in err and "before it was ready" in err, err
    assert engine_pids("fk") == [] and not port_answers("127.0.0.1", port)
    [row] = json.loads(llmops("ps", "--json").stdout)
    assert row["phase"] == "stopped" and row["pids"] == []


def test_concurrent_downs(profile_file, port):
    r = llmops("up", str(profile_file("stubborn")), "--wait")
    assert r.returncode == 0, r.stderr
    pids = engine_pids("fk")
    downs = [start("down", "fk", "--grace", "1") for _ in range(2)]
    results = [finish(p, 60) for p in downs]
    for code, out, err in results:
        assert code == 0 and "Traceback" not in err, (out, err)
    outs = sorted(out for _c, out, _e in results)
    # One ended them; the other waited for it, then found nothing left and claims nothing.
    assert outs[0] == "fk was already stopped: none of its processes is running\n", outs
    assert outs[1].startswith("stopped fk in ")
    assert f"({len(pids)} process(es) ended, port {port} free" in outs[1]
    assert engine_pids("fk") == []
