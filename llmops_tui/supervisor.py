"""Start, watch, stop and re-attach engine processes (no Textual here).

Each engine runs in its own process session (``start_new_session=True``) so that
closing the TUI, losing SSH or killing ``llmops`` leaves it serving. Per engine,
``<state>/engines/<name>/`` holds ``engine.log`` (stdout+stderr of the engine) and
``state.json`` (an :class:`EngineRecord`). A later ``llmops`` re-attaches by
checking pid + process start time + command line: a pid that now belongs to
another program is never trusted, never signalled.

Phases: ``starting → loading → ready → stopping → stopped``, or ``failed`` (with
the root-cause line pulled out of the log by the engine's :class:`EngineLogRules`).

Stopping: the engine's stop signal to its process group, a grace period, then
SIGKILL to every process of the tree and session that is left (psutil), then a
check that all are gone, that the port is free and (where NVML works) that no
process of ours still holds GPU memory.

The API is synchronous; :class:`AsyncSupervisor` wraps it for asyncio callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import psutil

from llmops_tui.config import paths
from llmops_tui.engines import adapter
from llmops_tui.engines.base import LaunchRefused, LaunchSpec, expand
from llmops_tui.engines.logs import LogWatch, split_lines
from llmops_tui.profiles import Profile, check_profile_text, to_toml
from llmops_tui.telemetry import gpu

PHASES = ("starting", "loading", "ready", "stopping", "stopped", "failed")
STARTING_PHASES = frozenset({"starting", "loading"})
TERMINAL_PHASES = frozenset({"stopped", "failed"})
STATE_FILE = "state.json"
LOG_FILE = "engine.log"
TAIL_LINES = 1000
PROBE_INTERVAL_S = 1.0
# After the engine's own "failed to start" verdict, how long to wait for the cause line.
DOOMED_GRACE_S = 3.0
MAX_REPLAY_BYTES = 8 * 1024 * 1024
IMPORT_CHECK_TIMEOUT_S = 60.0

__all__ = [
    "AsyncSupervisor",
    "EngineFailed",
    "EngineNotFound",
    "EngineRecord",
    "LaunchRefused",
    "StopIncomplete",
    "Supervisor",
]


class EngineNotFound(LookupError):
    pass


class EngineFailed(RuntimeError):
    """The engine ended in ``failed``; ``record.root_cause`` says why."""

    def __init__(self, record: EngineRecord):
        self.record = record
        super().__init__(
            f"{record.name} failed: {record.root_cause or 'no explanation in the log'}"
        )


class StopIncomplete(RuntimeError):
    """Processes (or GPU memory) were still there after SIGKILL and the wait."""


@dataclass
class EngineRecord:
    name: str
    engine: str
    profile_path: str | None
    pid: int
    create_time: float
    argv: list[str]
    host: str
    port: int
    base_url: str
    metrics_url: str
    served_model_name: str
    started_at: float
    phase: str
    log_path: str
    runtime: str = "native"
    container_name: str | None = None
    health_path: str = "/health"
    models_path: str | None = "/v1/models"
    info_path: str | None = None
    readiness: str = "openai"
    api_key_env: str | None = None
    stop_signal: int = int(signal.SIGTERM)
    progress: str | None = None
    root_cause: str | None = None
    startup_complete_at: float | None = None
    ready_at: float | None = None
    failed_at: float | None = None  # when llmops concluded "failed" (before stopping it)
    # Engine processes still alive at that moment (> 0: we knew before the engine exited).
    processes_at_failure: int | None = None
    stopped_at: float | None = None
    exit_code: int | None = None
    secret_file: str | None = None
    gpu_memory_released: bool | None = None
    hostname: str = field(default_factory=socket.gethostname)

    @property
    def alive_phase(self) -> bool:
        return self.phase not in TERMINAL_PHASES

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> EngineRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class _Watch:
    """What this process has read of one engine's log so far."""

    log: LogWatch
    offset: int = 0
    partial: str = ""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    last_probe: float = 0.0
    doomed_at: float | None = None


# ---------------------------------------------------------------------------
# Small helpers


def _write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def port_in_use(host: str, port: int) -> bool:
    """Whether binding host:port would fail (the check an engine's server makes)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def port_owner(port: int) -> str | None:
    """'pid 123 (python3 -m http.server)' for the process listening on port, if visible."""
    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError, OSError):
        return None
    for c in conns:
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            try:
                cmd = " ".join(psutil.Process(c.pid).cmdline())[:120]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                cmd = "?"
            return f"pid {c.pid} ({cmd})"
    return None


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _probe(rec: EngineRecord, timeout: float = 2.0) -> tuple[bool, str]:
    """Readiness: /health 200 and the model listed (/v1/models) or /info answering (TGI)."""
    import httpx

    headers = {}
    if rec.api_key_env and os.environ.get(rec.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[rec.api_key_env]}"
    try:
        with httpx.Client(timeout=timeout, trust_env=False, headers=headers) as client:
            r = client.get(rec.base_url + rec.health_path)
            if r.status_code != 200:
                return False, f"{rec.health_path} answered {r.status_code}"
            if rec.readiness == "tgi":
                r = client.get(rec.base_url + (rec.info_path or "/info"))
                if r.status_code != 200:
                    return False, f"/info answered {r.status_code}"
                info = r.json()
                return ("model_id" in info), f"/info model_id={info.get('model_id')!r}"
            r = client.get(rec.base_url + (rec.models_path or "/v1/models"))
            if r.status_code != 200:
                return False, f"{rec.models_path} answered {r.status_code}"
            ids = [m.get("id") for m in r.json().get("data", [])]
            if rec.served_model_name in ids:
                return True, "model listed"
            return False, f"/v1/models lists {ids}, not {rec.served_model_name!r}"
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------


class Supervisor:
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
        self._watches: dict[str, _Watch] = {}

    # -- files --------------------------------------------------------------

    def engine_dir(self, name: str) -> Path:
        return self.state_dir / name

    def _load(self, name: str) -> EngineRecord | None:
        path = self.engine_dir(name) / STATE_FILE
        try:
            return EngineRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError):
            return None

    def _save(self, rec: EngineRecord) -> None:
        d = self.engine_dir(rec.name)
        d.mkdir(parents=True, exist_ok=True)
        _write_json_atomic(d / STATE_FILE, rec.to_json())

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
        _, issues = check_profile_text(to_toml(profile), label)
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            details = "; ".join(f"{i.field + ': ' if i.field else ''}{i.message}" for i in errors)
            raise LaunchRefused(f"profile '{profile.name}' is invalid: {details}")

        existing = self.get(profile.name)
        if replacing is not None and existing is not None and existing.name == replacing.name:
            existing = None
        if existing is not None and existing.alive_phase:
            raise LaunchRefused(
                f"engine '{profile.name}' is already {existing.phase} (pid {existing.pid}, "
                f"{existing.base_url}); run `llmops down {profile.name}` first"
            )

        try:
            spec = self.build_spec(profile, environ)
        except LaunchRefused as exc:
            problems.append(str(exc))
            spec = None

        port_freed_by_swap = replacing is not None and replacing.port == profile.port
        if not port_freed_by_swap and port_in_use(profile.host, profile.port):
            owner = port_owner(profile.port)
            who = f"by {owner}" if owner else "by a process llmops cannot see (another user's?)"
            problems.append(f"port {profile.port} on {profile.host} is already in use {who}")

        if profile.is_local_model:
            mp = profile.model_path
            if mp is not None and not mp.exists():
                problems.append(f"model path {mp} does not exist")

        problems += self._gpu_problems(profile)
        if profile.engine_env and profile.runtime != "docker":
            from llmops_tui.envs.launch import resolve_engine_interpreter
            from llmops_tui.envs.records import EnvError

            try:  # missing, failed or half-made env: say so and how to make it
                resolve_engine_interpreter(profile)
            except EnvError as exc:
                problems.append(str(exc))
                spec = None
        problems += self._runtime_problems(profile, spec)

        if problems:
            if len(problems) == 1:
                raise LaunchRefused(f"not starting '{profile.name}': {problems[0]}")
            raise LaunchRefused(
                f"not starting '{profile.name}':\n" + "\n".join(f"  - {p}" for p in problems)
            )
        assert spec is not None
        return spec

    def _gpu_problems(self, profile: Profile) -> list[str]:
        if not profile.gpus:
            return []
        ids = gpu.gpu_ids()
        wanted = profile.gpus.split(",")
        if not ids.available:
            return [f"gpus = {profile.gpus!r} requested but {ids.error}: no GPU can be checked"]
        missing = []
        for g in wanted:
            if g.isdigit():
                if int(g) not in ids.indices:
                    missing.append(g)
            elif g not in ids.uuids:
                missing.append(g)
        if missing:
            have = ", ".join(str(i) for i in ids.indices) or "none"
            return [f"GPU {', '.join(missing)} requested but this box has GPU index(es): {have}"]
        return []

    def _runtime_problems(self, profile: Profile, spec: LaunchSpec | None) -> list[str]:
        if profile.runtime == "docker":
            return (
                [] if shutil.which("docker") else ["runtime = docker but `docker` is not on PATH"]
            )
        if spec is None:
            return []
        exe = spec.argv[0]
        path = shutil.which(exe) if os.sep not in exe else (exe if os.path.exists(exe) else None)
        if path is None:
            what = "interpreter" if profile.python else "executable"
            given = profile.python or profile.executable or exe
            return [f"{what} {given!r} not found ({expand(given)})"]
        if not os.access(path, os.X_OK):
            return [f"{path} is not executable"]
        if spec.engine_module:
            code = (
                "import importlib.util,sys; "
                f"sys.exit(importlib.util.find_spec({spec.engine_module!r}) is None)"
            )
            try:
                r = subprocess.run(
                    [path, "-c", code],
                    capture_output=True,
                    timeout=IMPORT_CHECK_TIMEOUT_S,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **spec.env},  # the engine's own PYTHONPATH etc.
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return [f"cannot run {path}: {exc}"]
            if r.returncode != 0:
                return [
                    f"{path} cannot import {spec.engine_module!r}: install it in that "
                    "environment or point python = at one that has it"
                ]
        return []

    def up(
        self,
        profile: Profile,
        wait: bool = False,
        timeout: float = 900.0,
        on_progress: Callable[[EngineRecord], None] | None = None,
        environ: dict[str, str] | None = None,
    ) -> EngineRecord:
        """Launch (after preflight). With ``wait``, return once ready or raise EngineFailed."""
        with self._lock:
            spec = self.preflight(profile, environ)
            rec = self._spawn(spec)
        if wait:
            return self.wait_ready(rec.name, timeout, on_progress)
        return rec

    def _spawn(self, spec: LaunchSpec) -> EngineRecord:
        d = self.engine_dir(spec.name)
        d.mkdir(parents=True, exist_ok=True)
        log_path = d / LOG_FILE
        if log_path.exists():
            os.replace(log_path, d / (LOG_FILE + ".1"))
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
        env = {**os.environ, **spec.env}
        with open(log_path, "ab") as log:
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
        except psutil.NoSuchProcess:
            create_time = time.time()
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
        )
        self._children[spec.name] = proc
        self._watches[spec.name] = _Watch(LogWatch(adapter(spec.engine).LOG_RULES))
        self._save(rec)
        return rec

    # -- watching -----------------------------------------------------------

    def _verify(self, rec: EngineRecord) -> psutil.Process | None:
        """The engine's root process if it is still the one we started, else None."""
        child = self._children.get(rec.name)
        if child is not None and child.pid == rec.pid:
            # Our own unreaped child: its pid cannot have been reused. (Its cmdline can
            # still read as ours for a moment after Popen returns, so it is not checked.)
            if child.poll() is not None:
                rec.exit_code = child.returncode
                return None
            try:
                return psutil.Process(rec.pid)
            except psutil.NoSuchProcess:
                return None
        try:
            p = psutil.Process(rec.pid)
            if abs(p.create_time() - rec.create_time) > 0.05:
                return None  # the pid now belongs to a newer process
            if p.status() == psutil.STATUS_ZOMBIE:
                return None
            if p.cmdline() != rec.argv:
                return None
            return p
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    def _read_log(self, rec: EngineRecord) -> _Watch:
        w = self._watches.get(rec.name)
        if w is None:
            w = _Watch(LogWatch(adapter(rec.engine).LOG_RULES))
            self._watches[rec.name] = w
        try:
            with open(rec.log_path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < w.offset:  # rotated or truncated: start over
                    w.offset, w.partial = 0, ""
                if w.offset == 0 and size > MAX_REPLAY_BYTES:
                    w.offset = size - MAX_REPLAY_BYTES
                f.seek(w.offset)
                data = f.read()
        except OSError:
            return w
        if not data:
            return w
        w.offset += len(data)
        text = w.partial + data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        w.partial = lines.pop()
        for line in lines:
            w.tail.append(line)
            for part in split_lines(line):
                w.log.feed(part)
        # tqdm redraws with \r and no newline: read the partial line's progress too.
        if "\r" in w.partial:
            last = w.partial.rsplit("\r", 1)[-1]
            if last.strip():
                probe = LogWatch(w.log.rules)
                probe.feed(last)
                if probe.progress:
                    w.log.progress = probe.progress
        return w

    def refresh(self, rec: EngineRecord) -> EngineRecord:
        """Bring one record up to date: process check, log, readiness probe."""
        with self._lock:
            return self._refresh(rec)

    def _refresh(self, rec: EngineRecord) -> EngineRecord:
        if rec.phase in TERMINAL_PHASES:
            return rec
        before = rec.to_json()
        proc = self._verify(rec)
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
                left = self._tree(rec)
                rec.processes_at_failure = len(left)
                self._save(rec)
                if left:
                    self._stop_processes(rec, grace=5.0)
                rec.stopped_at = time.time()
            elif w.log.startup_complete or now - w.last_probe >= PROBE_INTERVAL_S:
                w.last_probe = now
                ok, _detail = _probe(rec)
                if ok:
                    rec.phase = "ready"
                    rec.ready_at = time.time()
                    rec.progress = f"ready on {rec.base_url}"
        elif rec.phase == "ready":
            if proc is None:
                rec.phase = "failed"
                code = f" with code {rec.exit_code}" if rec.exit_code is not None else ""
                cause = w.log.root_cause[0] if w.log.root_cause else None
                rec.root_cause = cause or f"exited{code} while serving; see {rec.log_path}"
                rec.failed_at = rec.stopped_at = now
        elif rec.phase == "stopping" and proc is None and not self._session_pids(rec):
            rec.phase = "stopped"
            rec.stopped_at = rec.stopped_at or now
        if rec.phase not in STARTING_PHASES:
            self._remove_secret(rec)
        if rec.to_json() != before:
            self._save(rec)
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

    def _all_raw(self) -> list[EngineRecord]:
        if not self.state_dir.is_dir():
            return []
        out = []
        for d in sorted(self.state_dir.iterdir()):
            if (d / STATE_FILE).is_file():
                rec = self._load(d.name)
                if rec is not None:
                    out.append(rec)
        return out

    def get(self, name: str) -> EngineRecord | None:
        rec = self._load(name)
        return None if rec is None else self.refresh(rec)

    def records(self) -> list[EngineRecord]:
        """Every engine with a state file, re-attached and verified."""
        return [self.refresh(r) for r in self._all_raw()]

    def tail(self, name: str, n: int = 50) -> list[str]:
        rec = self._require(name)
        w = self._read_log(rec)
        return list(w.tail)[-n:] if n > 0 else []

    def _session_pids(self, rec: EngineRecord) -> list[int]:
        """Processes still in the engine's session (its children that lost their parent).

        The session id is the root's pid. If that pid is alive but is not our root
        (reused), the session is someone else's: nothing in it is ours. While any of our
        processes keep the session, the kernel cannot hand its id to a new session.
        """
        if psutil.pid_exists(rec.pid) and self._verify(rec) is None:
            try:
                if psutil.Process(rec.pid).status() != psutil.STATUS_ZOMBIE:
                    return []
            except psutil.Error:
                pass
        out = []
        for p in psutil.process_iter(["pid", "create_time"]):
            try:
                if p.pid in (os.getpid(), rec.pid):
                    continue
                if os.getsid(p.pid) != rec.pid:
                    continue
                if (p.info["create_time"] or 0) + 1.0 < rec.create_time:
                    continue
                if _alive(p):
                    out.append(p.pid)
            except (ProcessLookupError, PermissionError, psutil.Error, OSError):
                continue
        return out

    def _tree(self, rec: EngineRecord) -> list[psutil.Process]:
        procs: dict[int, psutil.Process] = {}
        root = self._verify(rec)
        if root is not None:
            procs[root.pid] = root
            with contextlib.suppress(psutil.Error):
                for c in root.children(recursive=True):
                    procs[c.pid] = c
        for pid in self._session_pids(rec):
            if pid not in procs:
                with contextlib.suppress(psutil.Error):
                    procs[pid] = psutil.Process(pid)
        return [p for p in procs.values() if _alive(p)]

    def process_pids(self, name: str) -> list[int]:
        """Every live process of the engine: the root, its descendants, its session."""
        rec = self._require(name)
        return sorted(p.pid for p in self._tree(rec))

    # -- stopping -----------------------------------------------------------

    def _stop_processes(self, rec: EngineRecord, grace: float) -> list[int]:
        """Signal, wait, SIGKILL, confirm. Returns pids still alive (should be [])."""
        procs = self._tree(rec)
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
        self._wait_gone(rec, procs, grace)
        deadline = time.monotonic() + 10.0
        while True:
            left = self._tree(rec)
            if not left:
                break
            for p in left:
                with contextlib.suppress(psutil.Error):
                    p.kill()
            if time.monotonic() > deadline:
                break
            self._wait_gone(rec, left, 1.0)
        child = self._children.get(rec.name)
        if child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired, OSError):
                rec.exit_code = child.wait(timeout=1.0)
        return [p.pid for p in self._tree(rec)]

    def _wait_gone(self, rec: EngineRecord, procs: list[psutil.Process], timeout: float) -> None:
        child = self._children.get(rec.name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child is not None:
                child.poll()  # reap our own child so it does not linger as a zombie
            if not any(_alive(p) for p in procs):
                return
            time.sleep(0.05)

    def down(self, name: str, grace: float | None = None) -> EngineRecord:
        """Stop an engine and everything it started. Raises StopIncomplete if anything stays."""
        grace = self.grace_s if grace is None else grace
        with self._lock:
            rec = self._require(name)
            rec = self._refresh(rec)
            tree_pids = {p.pid for p in self._tree(rec)}
            if rec.phase != "failed":
                rec.phase = "stopping"
                self._save(rec)
            left = self._stop_processes(rec, grace)
            if left:
                self._save(rec)
                raise StopIncomplete(f"{name}: processes still alive after SIGKILL: {left}")
            rec.gpu_memory_released = self._wait_gpu_released(tree_pids)
            if rec.phase != "failed":
                rec.phase = "stopped"
            rec.stopped_at = time.time()
            self._remove_secret(rec)
            self._children.pop(name, None)
            self._save(rec)
            if rec.gpu_memory_released is False:
                raise StopIncomplete(f"{name}: GPU memory still held by pids {sorted(tree_pids)}")
            return rec

    def _wait_gpu_released(self, pids: set[int], timeout: float = 30.0) -> bool | None:
        """True once no pid of ours holds GPU memory; None when NVML cannot tell."""
        if not pids:
            return True
        deadline = time.monotonic() + timeout
        while True:
            usage = gpu.gpu_memory_by_pid()
            if usage is None:
                return None
            if not pids & set(usage):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.25)

    def down_all(self, grace: float | None = None) -> list[EngineRecord]:
        return [self.down(r.name, grace) for r in self.records() if r.alive_phase]

    def forget(self, name: str) -> None:
        """Delete a stopped/failed engine's state folder."""
        rec = self._require(name)
        rec = self.refresh(rec)
        if rec.alive_phase:
            raise LaunchRefused(f"'{name}' is {rec.phase}; stop it first")
        shutil.rmtree(self.engine_dir(name), ignore_errors=True)

    def swap(
        self,
        from_name: str,
        to: Profile,
        timeout: float = 900.0,
        on_progress: Callable[[EngineRecord], None] | None = None,
    ) -> EngineRecord:
        """Stop ``from_name`` (waiting for its GPU memory to be freed), then start ``to``.

        ``to`` is checked first: a profile that would be refused never costs the running engine.
        """
        old = self._require(from_name)
        self.preflight(to, replacing=old)
        self.down(from_name)
        return self.up(to, wait=True, timeout=timeout, on_progress=on_progress)


class AsyncSupervisor:
    """Asyncio face of :class:`Supervisor`: the blocking calls run in a thread."""

    def __init__(self, supervisor: Supervisor | None = None, state_dir: Path | None = None):
        self.sync = supervisor or Supervisor(state_dir)

    async def up(self, profile: Profile, wait: bool = False, timeout: float = 900.0):
        return await asyncio.to_thread(self.sync.up, profile, wait, timeout)

    async def wait_ready(self, name: str, timeout: float = 900.0) -> EngineRecord:
        return await asyncio.to_thread(self.sync.wait_ready, name, timeout)

    async def down(self, name: str, grace: float | None = None) -> EngineRecord:
        return await asyncio.to_thread(self.sync.down, name, grace)

    async def records(self) -> list[EngineRecord]:
        return await asyncio.to_thread(self.sync.records)

    async def process_pids(self, name: str) -> list[int]:
        return await asyncio.to_thread(self.sync.process_pids, name)

    async def tail(self, name: str, n: int = 50) -> list[str]:
        return await asyncio.to_thread(self.sync.tail, name, n)

    async def swap(self, from_name: str, to: Profile, timeout: float = 900.0) -> EngineRecord:
        return await asyncio.to_thread(self.sync.swap, from_name, to, timeout)


def running_endpoint(name: str) -> tuple[str, str] | None:
    """(base URL, served model name) of the engine called ``name`` if it is up now.

    Chat and load test use it so that ``--profile NAME`` reaches the engine where it really
    runs (e.g. launched with ``llmops up NAME --set port=…``), not where its file says.
    """
    try:
        for rec in Supervisor().records():
            if rec.name == name and rec.phase == "ready":
                return rec.base_url, rec.served_model_name
    except OSError:
        pass
    return None
