"""An engine's process tree: is the root still ours (pid + start time + the session the
app created + its environment marker: ``identity``), its descendants, its session and
every process carrying its marker, stopping them all (signal, grace, SIGKILL, confirm),
and waiting for their GPU memory to be freed.

``child``: the ``Popen`` of an engine this process started (reaped here), else None."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time

import psutil

from llmops_tui.supervisor import identity
from llmops_tui.supervisor.records import EngineRecord


def alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def verify(rec: EngineRecord, child: subprocess.Popen | None) -> psutil.Process | None:
    """The engine's root process if it is still the one we started, else None."""
    if child is not None and child.pid == rec.pid:
        # Our own unreaped child: its pid cannot have been reused.
        if child.poll() is not None:
            rec.exit_code = child.returncode
            return None
        try:
            return psutil.Process(rec.pid)
        except psutil.NoSuchProcess:
            return None
    try:
        p = psutil.Process(rec.pid)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return p if identity.is_engine_root(p, rec.create_time, rec.marker, rec.session) else None


def _session_trusted(rec: EngineRecord, child: subprocess.Popen | None) -> bool:
    """False when the root's pid is alive but is not our root (reused): its session is
    someone else's. While any of our processes keep the session, the kernel cannot hand
    its id to a new session."""
    if psutil.pid_exists(rec.pid) and verify(rec, child) is None:
        try:
            if psutil.Process(rec.pid).status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.Error:
            pass
    return True


def _member(rec: EngineRecord, seen: identity.Seen, trust_session: bool) -> bool:
    if rec.marker is not None and seen.marker == rec.marker:
        return True
    in_session = trust_session and seen.sid == rec.session
    return in_session and seen.create_time + 1.0 >= rec.create_time


def session_pids(rec: EngineRecord, child: subprocess.Popen | None) -> list[int]:
    """The engine's processes other than the root that are found without the root: those
    still in its session (children that lost their parent) and those carrying its marker
    (in any session: one that called setsid is still found). The session id is the
    root's pid; a reused root pid makes only marked processes ours."""
    trust = _session_trusted(rec, child)
    return [s.pid for s in identity.scan() if s.pid != rec.pid and _member(rec, s, trust)]


def leftover_pids(recs: list[EngineRecord]) -> dict[str, list[int]]:
    """For records of engines that ended (stopped, failed): the processes of theirs still
    running (orphans of a killed API server), with one scan of the process table."""
    trust = {r.name: _session_trusted(r, None) for r in recs}
    out: dict[str, list[int]] = {r.name: [] for r in recs}
    if not recs:
        return out
    for seen in identity.scan():
        for r in recs:
            if _member(r, seen, trust[r.name]):
                out[r.name].append(seen.pid)
    return out


def tree(rec: EngineRecord, child: subprocess.Popen | None) -> list[psutil.Process]:
    procs: dict[int, psutil.Process] = {}
    root = verify(rec, child)
    if root is not None:
        procs[root.pid] = root
        with contextlib.suppress(psutil.Error):
            for c in root.children(recursive=True):
                procs[c.pid] = c
    for pid in session_pids(rec, child):
        if pid not in procs:
            with contextlib.suppress(psutil.Error):
                procs[pid] = psutil.Process(pid)
    return [p for p in procs.values() if alive(p)]


def stop_processes(rec: EngineRecord, child: subprocess.Popen | None, grace: float) -> list[int]:
    """Signal, wait, SIGKILL, confirm. Returns pids still alive (should be [])."""
    procs = tree(rec, child)
    if rec.runtime == "docker" and rec.container_name and shutil.which("docker"):
        subprocess.run(
            ["docker", "stop", "-t", str(int(grace)), rec.container_name],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        subprocess.run(
            ["docker", "rm", "-f", rec.container_name],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    root_ok = any(p.pid == rec.pid for p in procs)
    sig = signal.Signals(rec.stop_signal)
    if root_ok:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(rec.pid, sig)
    else:
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.send_signal(sig)
    wait_gone(child, procs, grace)
    deadline = time.monotonic() + 10.0
    while True:
        left = tree(rec, child)
        if not left:
            break
        for p in left:
            with contextlib.suppress(psutil.Error):
                p.kill()
        if time.monotonic() > deadline:
            break
        wait_gone(child, left, 1.0)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            rec.exit_code = child.wait(timeout=1.0)
    return [p.pid for p in tree(rec, child)]


def wait_gone(child: subprocess.Popen | None, procs: list[psutil.Process], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None:
            child.poll()  # reap our own child so it does not linger as a zombie
        if not any(alive(p) for p in procs):
            return
        time.sleep(0.05)
