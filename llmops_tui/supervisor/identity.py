"""Which processes are an engine's: identity that an exec wrapper or a console script
does not change, and a pid reused by another program cannot fake.

An engine is launched in a new session (``start_new_session``: its session id is the
root's pid) with ``LLMOPS_ENGINE=<name>:<nonce>`` in its environment, which every
process it starts inherits. The root is ours when its pid and start time match the
record and either the marker reads back equal, or (no marker readable: an older
record, or an engine that rewrote its environment block for its process title) it
still leads the session the app created. The command line is never compared: after
``exec python3 "$@"`` or ``vllm serve`` it is not the argv the app ran.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

MARKER_ENV = "LLMOPS_ENGINE"
# The state folder whose records the engine belongs to: an engine of another state folder
# (another LLMOPS_STATE_DIR: a test, a second setup) is never "lost" in this one.
HOME_ENV = "LLMOPS_ENGINE_HOME"
# psutil's create_time is boot time + start ticks: equal for one process, read twice.
CREATE_TIME_TOLERANCE_S = 0.05


def new_marker(name: str) -> str:
    return f"{name}:{secrets.token_hex(8)}"


def marker_name(marker: str) -> str:
    return marker.rsplit(":", 1)[0]


def home_of(state_dir) -> str:
    return os.path.realpath(state_dir)


def read_env(p: psutil.Process) -> tuple[str | None, str | None]:
    """The process's ``LLMOPS_ENGINE`` and ``LLMOPS_ENGINE_HOME``; None when absent or
    unreadable."""
    try:
        env = p.environ()
    except (psutil.Error, OSError):
        return None, None
    return env.get(MARKER_ENV), env.get(HOME_ENV)


def read_marker(p: psutil.Process) -> str | None:
    """The process's ``LLMOPS_ENGINE`` value; None when absent or unreadable."""
    return read_env(p)[0]


def leads_session(pid: int, sid: int) -> bool:
    try:
        return os.getsid(pid) == sid
    except OSError:
        return False


def is_engine_root(p: psutil.Process, create_time: float, marker: str | None, sid: int) -> bool:
    """Whether live process ``p`` is the root the record describes (see module doc)."""
    try:
        if abs(p.create_time() - create_time) > CREATE_TIME_TOLERANCE_S:
            return False  # the pid now belongs to a newer process
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.Error:
        return False
    seen = read_marker(p)
    if marker and seen is not None:
        return seen == marker
    return p.pid == sid and leads_session(p.pid, sid)


@dataclass(frozen=True)
class Seen:
    """One live process of this user, as a scan saw it."""

    pid: int
    sid: int | None
    create_time: float
    marker: str | None
    home: str | None = None


def scan() -> Iterator[Seen]:
    """This user's live processes (not this one) with their session and marker."""
    me, uid = os.getpid(), os.getuid()
    for p in psutil.process_iter(["pid", "create_time", "uids", "status"]):
        try:
            info = p.info
            if p.pid == me or info["status"] == psutil.STATUS_ZOMBIE:
                continue
            uids = info["uids"]
            if uids is not None and uid != 0 and uids.real != uid:
                continue  # another user's: its environment cannot be read
            try:
                sid = os.getsid(p.pid)
            except OSError:
                sid = None
            yield Seen(p.pid, sid, info["create_time"] or 0.0, *read_env(p))
        except psutil.Error:
            continue


def belongs(pid: int, session: int, create_time: float, marker: str | None) -> bool:
    """Whether live ``pid`` is one of an engine's processes: it carries the engine's
    marker, or it is in the engine's session and not older than the engine."""
    try:
        p = psutil.Process(pid)
        if marker and read_marker(p) == marker:
            return True
        return os.getsid(pid) == session and p.create_time() + 1.0 >= create_time
    except (psutil.Error, OSError):
        return False
