"""The launch spec every engine adapter produces from a Profile."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmops_tui.engines.facts import DOCKER_HOST_IP_REASON, is_ip_literal
from llmops_tui.profiles.profile import Profile


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
    # "openai": /health 200 and /v1/models lists served_model_name (vLLM, SGLang);
    # "tgi": /health 200 and /info answers (TGI).
    readiness: str = "openai"
    info_path: str | None = None
    runtime: str = "native"
    # Python module that must be importable by the interpreter (None: a binary or docker).
    engine_module: str | None = None
    # Signal sent to the process group first on stop.
    stop_signal: int = signal.SIGTERM
    # A file the supervisor writes (mode 0600) before launch and removes once the
    # engine has read it: (path, content). Used to keep secrets out of argv.
    secret_file: tuple[Path, str] | None = None
    # Name of the environment variable holding the API key clients must send.
    api_key_env: str | None = None

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

    @property
    def engine(self) -> str:
        return self.profile.engine

    @property
    def name(self) -> str:
        return self.profile.name


def expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


def model_arg(profile: Profile) -> str:
    """The model as the engine process is given it: a local path with ``~`` and ``$VAR``
    expanded, else the Hub repo id as written (every adapter's ``model_arg``)."""
    return expand(profile.model) if profile.is_local_model else profile.model


def gpu_env(profile: Profile) -> dict[str, str]:
    return {"CUDA_VISIBLE_DEVICES": profile.gpus} if profile.gpus else {}


def container_name(profile: Profile) -> str:
    """The docker container name of a profile's engine: ``llmops-<profile name>``."""
    return f"llmops-{profile.name}"


def hf_home(environ: dict[str, str]) -> str:
    """The Hugging Face cache root mounted into containers as /data."""
    if environ.get("HF_HOME"):
        return expand(environ["HF_HOME"])
    xdg = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "huggingface")


def docker_gpus(profile: Profile) -> str:
    """The value of ``docker run --gpus``: all GPUs, or ``"device=0,1"``.

    Docker parses --gpus as CSV, so a list of devices must carry its own double quotes.
    """
    if not profile.gpus:
        return "all"
    return f'"device={profile.gpus}"'


class LaunchRefused(Exception):
    """A launch that must not happen; the message says why and what to do."""


def require_docker_host_ip(profile: Profile) -> None:
    """``docker run -p HOST:PORT:CPORT`` takes an IP address only: Docker refuses a name
    (docker/go-connections nat/nat.go ParsePortSpec: "invalid IP address: localhost")."""
    if not is_ip_literal(profile.host):
        raise LaunchRefused(DOCKER_HOST_IP_REASON.format(host=profile.host))


def assemble_launch(
    profile: Profile,
    environ: dict[str, str],
    env: dict[str, str],
    build_argv: Callable[[Profile], list[str]],
    build_docker_argv: Callable[[Profile, dict[str, str]], list[str]],
    **fields: Any,
) -> LaunchSpec:
    """The part of every adapter's ``build_launch`` that is the same: the Docker host check,
    argv (``docker run …`` with the profile's env over this shell's, or the native line), and
    the spec's common fields. ``fields`` are the adapter's own (engine module, stop signal,
    readiness, …); ``served_model_name`` defaults to the name clients send."""
    docker = profile.runtime == "docker"
    if docker:
        require_docker_host_ip(profile)
    argv = build_docker_argv(profile, {**environ, **env}) if docker else build_argv(profile)
    fields.setdefault(
        "served_model_name",
        profile.model_name if profile.served_model_name else model_arg(profile),
    )
    return LaunchSpec(
        profile=profile,
        argv=tuple(argv),
        env=env,
        host=profile.host,
        port=profile.port,
        container_name=container_name(profile) if docker else None,
        runtime=profile.runtime,
        **fields,
    )


def profile_python(profile: Profile) -> str | None:
    """The interpreter that runs a Python engine: the profile's ``python``, else the named
    engine environment's (``env = "name"``, see llmops_tui.envs), else None."""
    if profile.python:
        return expand(profile.python)
    if profile.engine_env:
        from llmops_tui.envs.managed import env_python

        return str(env_python(profile.engine_env))
    return None


# Profile fields that become engine flags, in argv order. Each adapter maps the fields its
# engine has to that engine's flag (a field it leaves out is not passed).
FLAG_FIELDS = (
    "revision", "served_model_name", "tensor_parallel", "pipeline_parallel", "data_parallel",
    "quantization", "dtype", "kv_cache_dtype", "gpu_memory_fraction", "max_model_len",
    "max_num_seqs", "trust_remote_code",
)  # fmt: skip
_PARALLEL_FIELDS = ("tensor_parallel", "pipeline_parallel", "data_parallel")


def field_flags(profile: Profile, flags: dict[str, str]) -> list[str]:
    """The flags for the profile's set fields: parallel sizes only above 1, booleans as a
    bare flag, numbers as the user wrote them (``repr``: the shortest text that reads back
    as the same float, so 0.123456789 stays 0.123456789 and 0.90 is 0.9)."""
    argv: list[str] = []
    for name in FLAG_FIELDS:
        flag = flags.get(name)
        value = getattr(profile, name)
        if flag is None or value is None:
            continue
        if name in _PARALLEL_FIELDS:
            if value > 1:
                argv += [flag, str(value)]
        elif isinstance(value, bool):
            if value:
                argv.append(flag)
        elif isinstance(value, float):
            argv += [flag, repr(value)]
        elif value:
            argv += [flag, str(value)]
    return argv
