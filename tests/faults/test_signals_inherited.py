"""llmops started with SIGINT ignored (what a shell does to `llmops up … &`): the engine it
launches must not inherit the ignore, or vLLM's stop signal (SIGINT) is lost and every stop
waits the whole grace, then SIGKILLs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from faults_helpers import engine_pids, llmops

from llmops_tui.supervisor.stopcheck import port_answers


def ignored_signals(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return int(line.split()[1], 16)
    raise AssertionError(f"no SigIgn in /proc/{pid}/status")


def bit(sig: signal.Signals) -> int:
    return 1 << (sig - 1)


def test_an_llmops_started_with_sigint_ignored_launches_an_engine_that_hears_it(profile_file, port):
    def ignore_sigint() -> None:  # the shell's doing, for a background job
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    up = subprocess.run(
        [sys.executable, "-m", "llmops_tui", "up", str(profile_file()), "--wait"],
        capture_output=True,
        text=True,
        timeout=90,
        stdin=subprocess.DEVNULL,
        preexec_fn=ignore_sigint,
    )
    assert up.returncode == 0, up.stderr
    pids = engine_pids("fk")
    assert pids
    for pid in pids:
        assert not ignored_signals(pid) & bit(signal.SIGINT), pid
    t0 = time.monotonic()
    r = llmops("down", "fk")
    took = time.monotonic() - t0
    assert r.returncode == 0 and f"port {port} free" in r.stdout, r.stdout + r.stderr
    assert took < 10, f"down took {took:.1f} s: the engine did not end on SIGINT"
    assert engine_pids("fk") == [] and not port_answers("127.0.0.1", port)


def test_the_ignore_is_lifted_in_the_main_thread_only():
    from llmops_tui.cli import unignore_stop_signals

    code = (
        "import signal, threading\n"
        "from llmops_tui.cli import unignore_stop_signals as u\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "out = []\n"
        "t = threading.Thread(target=lambda: out.append(u())); t.start(); t.join()\n"
        "print(out[0], u(), signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.stdout.split() == ["[]", "['SIGINT']", "True"], r.stdout + r.stderr
    assert unignore_stop_signals() == []  # pytest's own SIGINT handler is left alone
