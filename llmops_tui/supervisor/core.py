"""The :class:`Supervisor` (launch, watch, stop, re-attach) and its asyncio face."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from llmops_tui.config import paths
from llmops_tui.engines import adapter
from llmops_tui.engines.base import LaunchRefused, LaunchSpec
from llmops_tui.engines.logs import LogWatch
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import profile_data
from llmops_tui.profiles.validation import check_profile_data
from llmops_tui.supervisor import sleep
from llmops_tui.supervisor.health import probe_ready
from llmops_tui.supervisor.identity import HOME_ENV, MARKER_ENV, home_of, new_marker
from llmops_tui.supervisor.locks import EngineBusy, engine_lock
from llmops_tui.supervisor.logtail import LogTail, read_log
from llmops_tui.supervisor.lost import LostEngine, find_lost, move_aside
from llmops_tui.supervisor.preflight import (
    api_key_problems,
    gpu_problems,
    port_problems,
    runtime_problems,
)
from llmops_tui.supervisor.proctree import (
    leftover_pids,
    session_pids,
    stop_processes,
    tree,
    verify,
)
from llmops_tui.supervisor.records import (
    LOG_FILE,
    SERVING_PHASES,
    STARTING_PHASES,
    STATE_FILE,
    TERMINAL_PHASES,
    EngineFailed,
    EngineNotFound,
    EngineRecord,
    RecordUnreadable,
    private_dir,
    read_record,
    record_lock,
    write_json_atomic,
)
from llmops_tui.supervisor.stopping import LOADING_GRACE_S, StopMixin

PROBE_INTERVAL_S = 1.0
# After the engine's own "failed to start" verdict, how long to wait for the cause line.
DOOMED_GRACE_S = 3.0


class Supervisor(StopMixin):
    """Engines of this box: launch, watch, stop, re-attach. Thread-safe."""

    def __init__(
        self,
        state_dir: Path | str | None = None,
        *,
        grace_s: float = 20.0,
        poll_s: float = 0.05,
    ):
        self.state_dir = Path(state_dir) if state_dir else paths().engines_state
        self.grace_s = grace_s
        self.poll_s = poll_s
        self._lock = threading.RLock()
        self._children: dict[str, subprocess.Popen] = {}
        self._watches: dict[str, LogTail] = {}

    # -- files --------------------------------------------------------------

    def engine_dir(self, name: str) -> Path:
        return self.state_dir / name

    def _load(self, name: str) -> EngineRecord | None:
        """The record; None when there is none; RecordUnreadable when it is unusable."""
        return read_record(self.engine_dir(name) / STATE_FILE, name)

    def _save(self, rec: EngineRecord) -> None:
        self._commit(rec, None)

    def _commit(self, rec: EngineRecord, phase_read: str | None) -> EngineRecord:
        """Save ``rec`` under the record lock. With ``phase_read`` (what a refresh read), only
        if another llmops has not moved this launch's record on since (a ``down`` writes
        "stopping" before it signals the engine, so the engine's death is not a failure):
        then the record on disk is the truth and is returned unsaved."""
        private_dir(self.state_dir)
        d = private_dir(self.engine_dir(rec.name))
        with record_lock(d):
            if phase_read is not None:
                try:
                    disk = read_record(d / STATE_FILE, rec.name)
                except RecordUnreadable:
                    disk = None
                same = disk is not None and (disk.pid, disk.marker) == (rec.pid, rec.marker)
                if same and disk is not None and disk.phase != phase_read:
                    return disk
            write_json_atomic(d / STATE_FILE, rec.to_json())
            return rec

    # -- launch -------------------------------------------------------------

    def build_spec(self, profile: Profile, environ: dict[str, str] | None = None) -> LaunchSpec:
        return adapter(profile.engine).build_launch(
            profile, environ, state_dir=self.engine_dir(profile.name)
        )

    def preflight(
        self,
        profile: Profile,
        environ: dict[str, str] | None = None,
        replacing: EngineRecord | None = None,
    ) -> LaunchSpec:
        """Every reason not to launch, in one LaunchRefused; else the launch spec.

        ``replacing``: the running engine a swap will stop first (its name and port are
        not counted as taken).
        """
        problems: list[str] = []
        label = str(profile.path) if profile.path else "<profile>"
        _, issues = check_profile_data(profile_data(profile), label)
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            details = "; ".join(f"{i.field + ': ' if i.field else ''}{i.message}" for i in errors)
            raise LaunchRefused(f"profile '{profile.name}' is invalid: {details}")

        same = replacing is not None and replacing.name == profile.name
        existing = None if same else self.get(profile.name)
        if existing is not None and existing.alive_phase:
            raise LaunchRefused(
                f"engine '{profile.name}' is already {existing.phase} (pid {existing.pid}, "
                f"{existing.base_url}); run `llmops down {profile.name}` first"
            )
        for lost in [] if same else self.lost(profile.name):
            if lost.pids:
                pids = ", ".join(map(str, lost.pids))
                raise LaunchRefused(
                    f"not starting '{profile.name}': {lost.reason}; its processes are still "
                    f"running (pids {pids}): run `llmops down {profile.name}` first"
                )

        problems += api_key_problems(profile, environ)
        try:
            spec = self.build_spec(profile, environ)
        except LaunchRefused as exc:
            if not (problems and profile.api_key_env and profile.api_key_env in str(exc)):
                problems.append(str(exc))
            spec = None

        problems += port_problems(profile, replacing.port if replacing is not None else None)

        if profile.is_local_model:
            mp = profile.model_path
            if mp is not None and not mp.exists():
                problems.append(f"model path {mp} does not exist")

        problems += gpu_problems(profile)
        if profile.engine_env and profile.runtime != "docker":
            from llmops_tui.envs.launch import resolve_engine_interpreter
            from llmops_tui.envs.records import EnvError

            try:  # missing, failed or half-made env: say so and how to make it
                resolve_engine_interpreter(profile)
            except EnvError as exc:
                problems.append(str(exc))
                spec = None
        problems += runtime_problems(profile, spec)

        if problems:
            if len(problems) == 1:
                raise LaunchRefused(f"not starting '{profile.name}': {problems[0]}")
            raise LaunchRefused(
                f"not starting '{profile.name}':\n" + "\n".join(f"  - {p}" for p in problems)
            )
        assert spec is not None
        return spec

    def up(
        self,
        profile: Profile,
        wait: bool = False,
        timeout: float = 900.0,
        on_progress: Callable[[EngineRecord], None] | None = None,
        environ: dict[str, str] | None = None,
    ) -> EngineRecord:
        """Launch (after preflight). With ``wait``, return once ready or raise EngineFailed.

        One launch per name at a time (a file lock across processes): a second ``up`` of
        the same name while one is launching is refused, saying which llmops holds it."""
        with self._lock:
            try:
                with engine_lock(self.state_dir, profile.name, "launching"):
                    spec = self.preflight(profile, environ)
                    bad = self.engine_dir(profile.name) / STATE_FILE
                    try:
                        self._load(profile.name)
                    except RecordUnreadable:
                        move_aside(bad)  # nothing of it runs (preflight): keep it, aside
                    rec = self._spawn(spec)
            except EngineBusy as exc:
                raise LaunchRefused(f"not starting '{profile.name}': {exc}") from None
        if wait:
            return self.wait_ready(rec.name, timeout, on_progress)
        return rec

    def _spawn(self, spec: LaunchSpec) -> EngineRecord:
        private_dir(self.state_dir)
        d = private_dir(self.engine_dir(spec.name))
        log_path = d / LOG_FILE
        if log_path.exists():
            os.replace(log_path, d / (LOG_FILE + ".1"))
            with contextlib.suppress(OSError):  # a log of an older llmops may be 0644
                os.chmod(d / (LOG_FILE + ".1"), 0o600)
        if spec.runtime == "docker" and spec.container_name:
            # A stopped container of an earlier run keeps the name taken.
            subprocess.run(
                ["docker", "rm", "-f", spec.container_name],
                capture_output=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        secret_path = None
        if spec.secret_file is not None:
            secret_path, content = spec.secret_file
            fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(content)
        marker = new_marker(spec.name)
        env = {**os.environ, **spec.env, MARKER_ENV: marker, HOME_ENV: home_of(self.state_dir)}
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as log:
            try:
                proc = subprocess.Popen(
                    list(spec.argv),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd=spec.cwd,
                    start_new_session=True,
                    close_fds=True,
                )
            except OSError as exc:
                if secret_path is not None:
                    secret_path.unlink(missing_ok=True)
                raise LaunchRefused(f"cannot start {spec.argv[0]}: {exc}") from exc
        try:
            create_time = psutil.Process(proc.pid).create_time()
            sid = os.getsid(proc.pid)  # == proc.pid: Popen returns after setsid and exec
        except (psutil.NoSuchProcess, OSError):
            create_time, sid = time.time(), proc.pid
        now = time.time()
        rec = EngineRecord(
            name=spec.name,
            engine=spec.engine,
            profile_path=str(spec.profile.path) if spec.profile.path else None,
            pid=proc.pid,
            create_time=create_time,
            argv=list(spec.argv),
            host=spec.host,
            port=spec.port,
            base_url=spec.base_url,
            metrics_url=spec.metrics_url,
            served_model_name=spec.served_model_name,
            started_at=now,
            phase="starting",
            log_path=str(log_path),
            runtime=spec.runtime,
            container_name=spec.container_name,
            health_path=spec.health_path,
            models_path=spec.models_path,
            info_path=spec.info_path,
            readiness=spec.readiness,
            api_key_env=spec.api_key_env,
            stop_signal=int(spec.stop_signal),
            secret_file=str(secret_path) if secret_path else None,
            marker=marker,
            sid=sid,
            sleep_mode=bool(spec.profile.sleep_mode),
        )
        self._children[spec.name] = proc
        self._watches[spec.name] = LogTail(LogWatch(adapter(spec.engine).LOG_RULES))
        self._save(rec)
        return rec

    # -- watching -----------------------------------------------------------

    def _child(self, rec: EngineRecord) -> subprocess.Popen | None:
        """The ``Popen`` of ``rec``'s engine when this process started it."""
        return self._children.get(rec.name)

    def _read_log(self, rec: EngineRecord) -> LogTail:
        w = self._watches.get(rec.name)
        if w is None:
            w = self._watches[rec.name] = LogTail(LogWatch(adapter(rec.engine).LOG_RULES))
        return read_log(rec, w)

    def refresh(self, rec: EngineRecord) -> EngineRecord:
        """Bring one record up to date: process check, log, readiness probe."""
        with self._lock:
            return self._refresh(rec)

    def _refresh(self, rec: EngineRecord) -> EngineRecord:
        if rec.phase in TERMINAL_PHASES:
            return rec
        before, phase_read = rec.to_json(), rec.phase
        proc = verify(rec, self._child(rec))
        w = self._read_log(rec)
        now = time.time()
        if w.log.startup_complete and rec.startup_complete_at is None:
            rec.startup_complete_at = now
        if rec.phase in STARTING_PHASES:
            if w.log.progress:
                rec.progress = w.log.progress
                rec.phase = "loading"
            if w.log.doomed and w.doomed_at is None:
                w.doomed_at = now
            doomed = w.doomed_at is not None and now - w.doomed_at >= DOOMED_GRACE_S
            if w.log.fatal or doomed or proc is None:
                why = w.log.explanation
                if why is None:
                    code = f" with code {rec.exit_code}" if rec.exit_code is not None else ""
                    why = f"exited{code} before it was ready; see {rec.log_path}"
                rec.root_cause = why
                rec.phase = "failed"
                rec.failed_at = now
                left = tree(rec, self._child(rec))
                rec.processes_at_failure = len(left)
                saved = self._commit(rec, phase_read)
                if saved is not rec:  # stopped by another llmops, not failed
                    return saved
                phase_read = rec.phase
                if left:
                    stop_processes(rec, self._child(rec), grace=LOADING_GRACE_S)
                rec.stopped_at = time.time()
            elif w.log.startup_complete or now - w.last_probe >= PROBE_INTERVAL_S:
                w.last_probe = now
                ok, _detail = probe_ready(rec)
                if ok:
                    rec.phase = "ready"
                    rec.ready_at = time.time()
                    rec.progress = f"ready on {rec.base_url}"
        elif rec.phase in SERVING_PHASES:  # ready, or asleep (sleep mode)
            if proc is None:
                rec.phase = "failed"
                code = f" with code {rec.exit_code}" if rec.exit_code is not None else ""
                cause = w.log.root_cause[0] if w.log.root_cause else None
                rec.root_cause = cause or f"exited{code} while serving; see {rec.log_path}"
                rec.failed_at = rec.stopped_at = now
        elif rec.phase == "stopping" and proc is None and not session_pids(rec, self._child(rec)):
            rec.phase = "stopped"
            rec.stopped_at = rec.stopped_at or now
        if rec.sleep_mode and rec.phase in SERVING_PHASES:
            sleep.sync_phase(rec)  # a sleep or wake made outside llmops shows too
        if rec.phase not in STARTING_PHASES:
            self._remove_secret(rec)
        if rec.to_json() != before:
            return self._commit(rec, phase_read)
        return rec

    def _remove_secret(self, rec: EngineRecord) -> None:
        if rec.secret_file:
            with contextlib.suppress(OSError):
                Path(rec.secret_file).unlink(missing_ok=True)
            rec.secret_file = None

    def wait_ready(
        self,
        name: str,
        timeout: float = 900.0,
        on_progress: Callable[[EngineRecord], None] | None = None,
    ) -> EngineRecord:
        """Block until ``ready`` (returns the record) or ``failed`` (raises EngineFailed)."""
        rec = self._require(name)
        deadline = time.monotonic() + timeout
        last_progress = None
        while True:
            rec = self.refresh(rec)
            if on_progress and (rec.phase, rec.progress) != last_progress:
                last_progress = (rec.phase, rec.progress)
                on_progress(rec)
            if rec.phase == "ready":
                return rec
            if rec.phase == "failed":
                raise EngineFailed(rec)
            if rec.phase in ("stopping", "stopped"):
                raise EngineFailed(rec)
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{name} not ready after {timeout:.0f} s (phase {rec.phase}: "
                    f"{rec.progress or 'no progress in the log'})"
                )
            time.sleep(self.poll_s)

    # -- queries ------------------------------------------------------------

    def _require(self, name: str) -> EngineRecord:
        rec = self._load(name)
        if rec is None:
            known = ", ".join(r.name for r in self._all_raw()) or "none"
            raise EngineNotFound(f"no engine named '{name}' (known: {known})")
        return rec

    def _scan_dir(self) -> tuple[list[EngineRecord], list[RecordUnreadable]]:
        if not self.state_dir.is_dir():
            return [], []
        good, bad = [], []
        for d in sorted(self.state_dir.iterdir()):
            if d.is_dir() and (d / STATE_FILE).exists():
                try:
                    rec = self._load(d.name)
                except RecordUnreadable as exc:
                    bad.append(exc)
                    continue
                if rec is not None:
                    good.append(rec)
        return good, bad

    def _all_raw(self) -> list[EngineRecord]:
        return self._scan_dir()[0]

    def get(self, name: str) -> EngineRecord | None:
        """The engine's record, refreshed; None when there is none or it is unreadable."""
        try:
            rec = self._load(name)
        except RecordUnreadable:
            return None
        return None if rec is None else self.refresh(rec)

    def record(self, name: str) -> EngineRecord:
        """The engine's record, refreshed; EngineNotFound / RecordUnreadable say why not."""
        return self.refresh(self._require(name))

    def records(self) -> list[EngineRecord]:
        """Every engine with a readable state file, re-attached and verified."""
        return [self.refresh(r) for r in self._all_raw()]

    def leftovers(self, records: list[EngineRecord]) -> dict[str, list[int]]:
        """Processes still running of the given records' engines that ended (stopped or
        failed): what a kill -9 of the API server leaves. Engines still alive: not here."""
        ended = [r for r in records if not r.alive_phase]
        return {n: pids for n, pids in leftover_pids(ended).items() if pids}

    def lost(self, only: str | None = None) -> list[LostEngine]:
        """Unreadable records and launches no record names, with their live processes."""
        good, bad = self._scan_dir()
        return find_lost(self.state_dir, {r.name: r for r in good}, bad, only)

    def tail(self, name: str, n: int = 50) -> list[str]:
        rec = self._require(name)
        w = self._read_log(rec)
        return list(w.tail)[-n:] if n > 0 else []

    def process_pids(self, name: str) -> list[int]:
        """Every live process of the engine: the root, its descendants, its session and
        every process carrying its marker (also after the root has died: orphans)."""
        rec = self._require(name)
        return sorted(p.pid for p in tree(rec, self._child(rec)))

    def forget(self, name: str) -> None:
        """Delete a stopped/failed engine's state folder."""
        rec = self._require(name)
        rec = self.refresh(rec)
        if rec.alive_phase:
            raise LaunchRefused(f"'{name}' is {rec.phase}; stop it first")
        shutil.rmtree(self.engine_dir(name), ignore_errors=True)


def running_endpoint(name: str) -> tuple[str, str] | None:
    """(base URL, served model name) of the engine called ``name`` if it is up now.

    Chat and load test use it so that ``--profile NAME`` reaches the engine where it really
    runs (e.g. launched with ``llmops up NAME --set port=…``), not where its file says.
    """
    try:
        for rec in Supervisor().records():
            if rec.name == name and rec.phase in SERVING_PHASES:  # asleep: refused by name
                return rec.base_url, rec.served_model_name
    except OSError:
        pass
