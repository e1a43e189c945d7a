"""Engine records (``state.json``), phases and the supervisor's errors."""

from __future__ import annotations

import json
import os
import signal
import socket
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

PHASES = ("starting", "loading", "ready", "sleeping", "stopping", "stopped", "failed")
STARTING_PHASES = frozenset({"starting", "loading"})
# Up and resident: "sleeping" (sleep_mode engines) holds the model in host memory, serves nothing.
SERVING_PHASES = frozenset({"ready", "sleeping"})
TERMINAL_PHASES = frozenset({"stopped", "failed"})
STATE_FILE = "state.json"
LOG_FILE = "engine.log"


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
    sleep_mode: bool = False  # launched able to sleep (profile sleep_mode = true)
    slept_at: float | None = None  # when it was last put to sleep (None: awake)
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


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def load_record(path: Path) -> EngineRecord | None:
    """The record in ``path`` (a ``state.json``); None when missing or unreadable."""
    try:
        return EngineRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        return None
