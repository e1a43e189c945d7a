"""The :class:`Profile` record, its issues and errors, and the name/id patterns it obeys."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

RUNTIMES = ("native", "docker")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_REF_RE = re.compile(r"^\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)$")
SECRET_KEY_RE = re.compile(r"(TOKEN|API_KEY|APIKEY|SECRET|PASSWORD|PASSWD)", re.IGNORECASE)
GPU_ID_RE = re.compile(r"^(\d+|GPU-[0-9a-fA-F-]+|MIG-[0-9a-fA-F/-]+)$")
MAX_PARALLEL = 1024


@dataclass(frozen=True)
class ProfileIssue:
    """One problem in one profile file."""

    file: str
    field: str | None
    message: str
    line: int | None = None
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        what = f"{self.field}: " if self.field else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}: {prefix}{what}{self.message}"


class ProfileError(Exception):
    """A profile that cannot be used; ``issues`` lists every error found."""

    def __init__(self, issues: list[ProfileIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class Profile:
    name: str
    engine: str
    model: str
    revision: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    quantization: str | None = None
    dtype: str | None = None
    kv_cache_dtype: str | None = None
    gpu_memory_fraction: float | None = None
    max_model_len: int | None = None
    max_num_seqs: int | None = None
    served_model_name: str | None = None
    gpus: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    engine_env: str | None = None
    python: str | None = None
    executable: str | None = None
    runtime: str = "native"
    image: str | None = None
    api_key_env: str | None = None
    trust_remote_code: bool = False
    sleep_mode: bool = False
    extra_args: tuple[str, ...] = ()
    description: str = ""
    path: Path | None = None

    @property
    def world_size(self) -> int:
        """GPUs the launch needs (TP × PP × DP)."""
        return self.tensor_parallel * self.pipeline_parallel * self.data_parallel

    @property
    def model_name(self) -> str:
        """The name clients must send as ``model``."""
        if self.served_model_name:
            return self.served_model_name
        return self.model

    @property
    def is_local_model(self) -> bool:
        return looks_like_path(self.model)

    @property
    def model_path(self) -> Path | None:
        return Path(os.path.expanduser(self.model)) if self.is_local_model else None

    def with_overrides(self, **changes: Any) -> Profile:
        return replace(self, **changes)

    def resolved_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """The profile's env table with ``$VAR`` references filled from ``environ``.

        A reference to an unset variable is left out (so ``HF_TOKEN = "$HF_TOKEN"``
        means "pass it through if I have one").
        """
        environ = os.environ if environ is None else environ
        out: dict[str, str] = {}
        for key, value in self.env.items():
            m = ENV_REF_RE.match(value)
            if m:
                ref = m.group(1).strip("{}")
                if ref in environ:
                    out[key] = environ[ref]
            else:
                out[key] = value
        return out


def looks_like_path(model: str) -> bool:
    return model.startswith(("/", "~", "./", "../")) or model in (".", "..")
