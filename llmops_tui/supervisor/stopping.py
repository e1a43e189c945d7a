"""Stopping engines, for :class:`~llmops_tui.supervisor.core.Supervisor`: ``stop`` (what
was ended and what is still held, checked), ``down`` (raises when anything is held),
and ``swap`` (never starts the next engine while the last one holds its
processes, port or GPU memory)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from llmops_tui.supervisor.locks import engine_lock
from llmops_tui.supervisor.lost import move_aside, stub
from llmops_tui.supervisor.proctree import stop_processes, tree
from llmops_tui.supervisor.records import (
    STARTING_PHASES,
    EngineNotFound,
    EngineRecord,
    StopIncomplete,
)
from llmops_tui.supervisor.stopcheck import (
    StopReport,
    describe,
    port_holder_after_stop,
    wait_gpu_released,
)

if TYPE_CHECKING:
    from llmops_tui.profiles.profile import Profile

# How long a stop waits for a launch of the same engine (its preflight) to finish.
LOCK_WAIT_S = 90.0
# The grace (stop signal to SIGKILL) of an engine still starting or loading: no request to
# finish. vLLM 0.26 on the H200, stopped while starting its engine core, let the whole 20 s pass.
LOADING_GRACE_S = 5.0


class StopMixin:
    """The stopping half of Supervisor (uses its records, lock, children and refresh)."""

    def stop(self, name: str, grace: float | None = None) -> tuple[EngineRecord | None, StopReport]:
        """Stop an engine (its record's launch and any launch of that name no record names)
        and check what is left: processes, the port, GPU memory. Never raises for what
        is left: the report says it. ``grace`` (stop signal to SIGKILL) defaults to
        ``grace_s``, or ``LOADING_GRACE_S`` for an engine not serving yet."""
        t0 = time.monotonic()
        with self._lock, engine_lock(self.state_dir, name, "stopping", LOCK_WAIT_S):
            missing: EngineNotFound | None = None
            try:
                rec: EngineRecord | None = self._refresh(self._require(name))
            except EngineNotFound as exc:  # RecordUnreadable too
                rec, missing = None, exc
            lost = self.lost(name)
            if rec is None and not any(lost_.stubs or lost_.state_file for lost_ in lost):
                assert missing is not None
                raise missing
            if grace is None:
                loading = rec is not None and rec.phase in STARTING_PHASES
                grace = LOADING_GRACE_S if loading else self.grace_s
            port = rec.port if rec is not None else next((x.port for x in lost if x.port), None)
            host = rec.host if rec is not None else "127.0.0.1"
            report = StopReport(name, port)
            targets = [rec] if rec is not None else []
            targets += [s for x in lost for s in x.stubs]
            pids = {p.pid for t in targets for p in tree(t, self._child(t))}
            if rec is not None and not rec.alive_phase and not pids and not lost:
                report.already = rec.phase  # nothing to stop, nothing to claim
                return rec, report
            if rec is not None and rec.phase != "failed":
                rec.phase = "stopping"
                self._save(rec)
            left: set[int] = set()
            for t in targets:
                pids |= {p.pid for p in tree(t, self._child(t))}
                left |= set(stop_processes(t, self._child(t), grace))
            report.ended = sorted(pids - left)
            report.left = describe(sorted(left), None)
            if port:
                report.port_holder = port_holder_after_stop(host, port)
            report.gpu, report.gpu_holders = wait_gpu_released(
                targets, pids, timeout=0.0 if left else None
            )
            for x in lost:
                if x.state_file is not None:
                    moved = move_aside(x.state_file)
                    report.notes.append(f"{x.reason}; moved it to {moved}" if moved else x.reason)
            if rec is not None:
                if not left:
                    rec.phase = "failed" if rec.phase == "failed" else "stopped"
                    rec.stopped_at = time.time()
                    self._remove_secret(rec)
                    self._children.pop(name, None)
                rec.gpu_memory_released = report.gpu
                self._save(rec)
            report.seconds = time.monotonic() - t0
            return rec, report

    def down(self, name: str, grace: float | None = None) -> EngineRecord:
        """Stop an engine and everything it started. Raises StopIncomplete (with the
        report) if a process, the port or GPU memory is still held."""
        rec, report = self.stop(name, grace)
        if not report.ok:
            raise StopIncomplete(report.summary(), report)
        if rec is None:
            rec = self.lost_stub(name)
        return rec

    def lost_stub(self, name: str) -> EngineRecord:
        rec = stub(name, self.state_dir, pid=0, create_time=0.0)
        rec.phase = "stopped"
        return rec

    def running_names(self) -> list[str]:
        """Names ``down --all`` stops: live records, records whose processes outlived
        them (orphans), unreadable records and launches no record names."""
        records = self.records()
        left = self.leftovers(records)
        names = [r.name for r in records if r.alive_phase or r.name in left]
        names += [x.name for x in self.lost() if x.pids and x.name not in names]
        return names

    def swap(
        self,
        from_name: str,
        to: Profile,
        timeout: float = 900.0,
        on_progress: Callable[[EngineRecord], None] | None = None,
        on_stopped: Callable[[StopReport], None] | None = None,
    ) -> EngineRecord:
        """Stop ``from_name`` (waiting for its GPU memory to be freed), then start ``to``.

        ``to`` is checked first: a profile that would be refused never costs the running
        engine. ``to`` is not started while anything of ``from_name`` still holds its
        processes, its port or GPU memory (StopIncomplete, with the report).
        """
        from llmops_tui.supervisor import sleep

        if sleep.can_swap_resident(self, from_name, to.name):  # both up, able to sleep
            return sleep.resident_swap(self, from_name, to.name).record  # type: ignore[return-value]
        old = self._require(from_name)
        self.preflight(to, replacing=old)
        _rec, report = self.stop(from_name)
        if on_stopped is not None:
            on_stopped(report)
        if not report.ok:
            raise StopIncomplete(report.summary(), report)
        return self.up(to, wait=True, timeout=timeout, on_progress=on_progress)
