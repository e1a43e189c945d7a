"""Engines llmops has no usable record of, found anyway: a ``state.json`` that is garbage,
truncated or of the wrong shape (what a regex still reads of it: pid, start time, port,
marker), and launches whose record is gone or names another launch (processes carrying
an ``LLMOPS_ENGINE`` marker no record names). Each is described by stub records that
``proctree`` can list and stop like any engine."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from llmops_tui.supervisor import identity
from llmops_tui.supervisor.proctree import tree
from llmops_tui.supervisor.records import LOG_FILE, EngineRecord, RecordUnreadable


@dataclass
class LostEngine:
    name: str
    reason: str  # "record for X unreadable: …", "running without a record", …
    state_file: Path | None = None  # the unreadable state.json, when there is one
    port: int | None = None  # read from the unreadable record, when it could be
    stubs: list[EngineRecord] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # live processes found


def stub(name: str, state_dir: Path, **kw) -> EngineRecord:
    """A record with only what identifies the processes (pid, start time, session, marker)."""
    port = kw.pop("port", None) or 0
    return EngineRecord(
        name=name,
        engine="?",
        profile_path=None,
        argv=[],
        host="127.0.0.1",
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        metrics_url="",
        served_model_name="?",
        started_at=kw.get("create_time", 0.0),
        phase="ready",
        log_path=str(state_dir / name / LOG_FILE),
        **kw,
    )


def _stub_from_seen(name: str, state_dir: Path, marker: str, seen: list[identity.Seen]):
    leaders = [s for s in seen if s.sid == s.pid]
    root = leaders[0] if leaders else min(seen, key=lambda s: s.create_time)
    return stub(
        name, state_dir, pid=root.pid, create_time=root.create_time, marker=marker, sid=root.sid
    )


def find_lost(
    state_dir: Path,
    readable: dict[str, EngineRecord],
    unreadable: list[RecordUnreadable],
    only: str | None = None,
) -> list[LostEngine]:
    """Unreadable records and unrecorded launches (of engine ``only``, if given)."""
    by_marker: dict[str, list[identity.Seen]] = {}
    home = identity.home_of(state_dir)
    for s in identity.scan():
        if s.home != home or not s.marker:
            continue  # not an engine, or one of another state folder
        if only is None or identity.marker_name(s.marker) == only:
            by_marker.setdefault(s.marker, []).append(s)
    unreadable = [u for u in unreadable if only is None or u.name == only]
    out: list[LostEngine] = []
    claimed = {r.marker for r in readable.values() if r.marker}
    for u in unreadable:
        lost = LostEngine(u.name, str(u), u.path, u.salvage.get("port"))
        sv = u.salvage
        if isinstance(sv.get("pid"), int) and isinstance(sv.get("create_time"), float):
            lost.stubs.append(
                stub(
                    u.name,
                    state_dir,
                    pid=sv["pid"],
                    create_time=sv["create_time"],
                    marker=sv.get("marker"),
                    sid=sv.get("sid"),
                    port=lost.port,
                )
            )
        out.append(lost)
    names = {lost.name: lost for lost in out}
    for marker, seen in sorted(by_marker.items()):
        name = identity.marker_name(marker)
        lost = names.get(name)
        if marker in claimed or (lost and any(marker == s.marker for s in lost.stubs)):
            continue
        if lost is None:
            why = (
                "running, but its record names another launch"
                if name in readable
                else "running without a record"
            )
            lost = names[name] = LostEngine(name, f"{name}: {why}")
            out.append(lost)
        lost.stubs.append(_stub_from_seen(name, state_dir, marker, seen))
    for lost in out:
        pids: set[int] = set()
        for s in lost.stubs:
            pids.update(p.pid for p in tree(s, None))
        lost.pids = sorted(pids)
        if lost.port is None:
            lost.port = listening_port(lost.pids)
    return out


def listening_port(pids: list[int]) -> int | None:
    """The TCP port one of ``pids`` listens on (the engine's server), if any."""
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="inet")
        except (psutil.Error, OSError):
            continue
        for c in conns:
            if c.status == psutil.CONN_LISTEN and c.laddr:
                return c.laddr.port
    return None


def move_aside(path: Path) -> Path | None:
    """Keep an unreadable state file under another name; None if it cannot be moved."""
    target = path.with_name(f"{path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        path.rename(target)
    except OSError:
        return None
    return target
