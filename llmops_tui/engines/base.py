"""The launch spec every engine adapter produces from a Profile."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from llmops_tui.profiles import Profile


@dataclass(frozen=True)
class LaunchSpec:
    """Everything needed to start one engine process and talk to it."""

    profile: Profile
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)  # added to the parent environment
    cwd: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    served_model_name: str = ""
    health_path: str = "/health"
    models_path: str | None = "/v1/models"
    metrics_path: str = "/metrics"
    container_name: str | None = None

    @property
    def client_host(self) -> str:
        """Where a client on this box connects (a wildcard bind is reached on loopback)."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host

    @property
    def base_url(self) -> str:
        host = self.client_host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def health_url(self) -> str:
        return self.base_url + self.health_path

    @property
    def metrics_url(self) -> str:
        return self.base_url + self.metrics_path

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"


def expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def gpu_env(profile: Profile) -> dict[str, str]:
    return {"CUDA_VISIBLE_DEVICES": profile.gpus} if profile.gpus else {}
