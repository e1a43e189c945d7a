"""Engine records (``state.json``), phases and the supervisor's errors."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

PHASES = ("starting", "loading", "ready", "sleeping", "stopping", "stopped", "failed")
STARTING_PHASES = frozenset({"starting", "loading"})
# Up and resident: "sleeping" (sleep_mode engines) holds the model in host memory, serves nothing.
SERVING_PHASES = frozenset({"ready", "sleeping"})
TERMINAL_PHASES = frozenset({"stopped", "failed"})
STATE_FILE = "state.json"
RECORD_LOCK = ".state.lock"
LOG_FILE = "engine.log"


class EngineNotFound(LookupError):
    pass


class EngineFailed(RuntimeError):
    """The engine ended in ``failed``; ``record.root_cause`` says why."""

    def __init__(self, record: EngineRecord):
        self.record = record
        super().__init__(failure_line(record))


def failure_reason(record: EngineRecord) -> str:
    """Why a launch never became ready (``failed: <root cause>``, or that it was stopped)."""
    if record.phase in ("stopping", "stopped"):
        return f"was {record.phase} before it was ready (by `llmops down` or another llmops)"
    return f"failed: {record.root_cause or 'no explanation found in the log'}"


def failure_line(record: EngineRecord) -> str:
    return f"{record.name} {failure_reason(record)}"


class StopIncomplete(RuntimeError):
    """Processes, the port or GPU memory were still held after SIGKILL and the wait;
    ``report`` (a stopcheck.StopReport) names them."""

    def __init__(self, message: str, report: object = None):
        super().__init__(message)
        self.report = report


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
    # LLMOPS_ENGINE value in the engine's environment (None: a record from before markers).
    marker: str | None = None
    sid: int | None = None  # the session the app created for it (its root's pid)
    sleep_mode: bool = False  # launched able to sleep (profile sleep_mode = true)
    slept_at: float | None = None  # when it was last put to sleep (None: awake)
    hostname: str = field(default_factory=socket.gethostname)

    @property
    def alive_phase(self) -> bool:
        return self.phase not in TERMINAL_PHASES

    @property
    def session(self) -> int:
        return self.sid if self.sid is not None else self.pid

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> EngineRecord:
        """The record in ``data``; ValueError naming what is wrong with it."""
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object, found {type(data).__name__}")
        missing = [f.name for f in fields(cls) if f.name in REQUIRED and f.name not in data]
        if missing:
            raise ValueError(f"missing field(s): {', '.join(missing)}")
        for key, types in _TYPES.items():
            value = data.get(key)
            if key in data and value is not None and not _is(value, types):
                raise ValueError(f"{key}: expected {types[0].__name__}, found {value!r:.60}")
        if data["phase"] not in PHASES:
            raise ValueError(f"phase: {data['phase']!r:.40} is not one of {', '.join(PHASES)}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


REQUIRED = frozenset(
    f.name for f in fields(EngineRecord) if f.default is MISSING and f.default_factory is MISSING
)
_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "engine": (str,),
    "pid": (int,),
    "create_time": (float, int),
    "argv": (list,),
    "host": (str,),
    "port": (int,),
    "base_url": (str,),
    "metrics_url": (str,),
    "served_model_name": (str,),
    "started_at": (float, int),
    "phase": (str,),
    "log_path": (str,),
    "runtime": (str,),
    "stop_signal": (int,),
    "sid": (int,),
    "marker": (str,),
    "secret_file": (str,),
    "container_name": (str,),
}


def _is(value: object, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not isinstance(value, bool)


class RecordUnreadable(EngineNotFound):
    """A ``state.json`` that is there but cannot be used (garbage, truncated, wrong shape).

    ``salvage``: the fields a regex could still read from it (pid, create_time, port,
    sid, marker), to find an engine that may still be running."""

    def __init__(self, name: str, path: Path, reason: str, salvage: dict | None = None):
        self.name, self.path, self.reason = name, path, reason
        self.salvage = salvage or {}
        super().__init__(f"record for {name} unreadable: {reason} ({path})")


_SALVAGE = {
    "pid": (r'"pid":\s*(\d+)', int),
    "sid": (r'"sid":\s*(\d+)', int),
    "create_time": (r'"create_time":\s*([0-9.]+)', float),
    "port": (r'"port":\s*(\d+)', int),
    "marker": (r'"marker":\s*"([^"\\]+)"', str),
}


def salvage(text: str) -> dict:
    out = {}
    for key, (pattern, conv) in _SALVAGE.items():
        m = re.search(pattern, text)
        if m:
            with contextlib.suppress(ValueError):
                out[key] = conv(m.group(1))
    return out


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` to ``path`` through a temp file, readable by the owner only."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(data, indent=2))
    os.chmod(tmp, 0o600)  # an older temp file of ours may have had other bits
    os.replace(tmp, path)


def private_dir(path: Path) -> Path:
    """``mkdir -p`` with mode 0700 for what it creates; tightens ``path`` itself if ours."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        if path.stat().st_uid == os.getuid():
            os.chmod(path, 0o700)
    return path


def read_record(path: Path, name: str | None = None) -> EngineRecord | None:
    """The record in ``path`` (a ``state.json``); None when missing; RecordUnreadable when
    it is there but not a usable record."""
    name = name or path.parent.name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RecordUnreadable(name, path, f"cannot read it: {exc.strerror or exc}") from None
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError as exc:
        why = "empty file" if not text.strip() else f"not valid JSON ({exc})"
        raise RecordUnreadable(name, path, why, salvage(text)) from None
    try:
        return EngineRecord.from_json(data)
    except (ValueError, TypeError) as exc:
        raise RecordUnreadable(name, path, str(exc), salvage(text)) from None


def load_record(path: Path) -> EngineRecord | None:
    """The record in ``path``; None when missing or unreadable."""
    try:
        return read_record(path)
    except RecordUnreadable:
        return None


@contextlib.contextmanager
def record_lock(engine_dir: Path) -> Iterator[None]:
    """An ``flock`` held for one read-and-write of ``engine_dir``'s state file, across
    processes: a stop in one llmops and a refresh in another take turns on the record
    (milliseconds; the launch/stop lock in ``locks.py`` is the long one)."""
    fd = os.open(engine_dir / RECORD_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the only descriptor releases the flock
