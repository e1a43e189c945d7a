"""TGI (text-generation-inference) adapter: Profile → LaunchSpec, log rules.

Flags from ``launcher/src/main.rs`` (struct Args, clap ``#[clap(long, env)]``; v3.3.6,
tabled in tests/fixtures/tgi_launcher_flags.json, which tests/contract checks every argv
against) of huggingface/text-generation-inference:
``text-generation-launcher --model-id M --hostname H --port P`` with ``--revision``,
``--num-shard`` (tensor parallel), ``--quantize``, ``--dtype``, ``--kv-cache-dtype``,
``--max-total-tokens``, ``--cuda-memory-fraction``, ``--trust-remote-code``.
No pipeline/data parallelism and no served-model-name (profile validation refuses those).

Docker form: ``docker run --gpus … --shm-size 1g -p HOST:PORT:80 -v $HF_HOME:/data
IMAGE --model-id …``; the image sets ``HF_HOME=/data`` and ``PORT=80`` (Dockerfile).

API key: the launcher reads ``--api-key`` from the env var ``API_KEY`` too, but then
passes it to ``text-generation-router`` as ``--api-key KEY`` on that process's
command line (launcher/src/main.rs, "// API Key"), where ``ps`` shows it to every
user of the box. There is no way to keep it out of argv, so llmops refuses
``api_key_env`` for TGI and says so.

Every native TGI listens on two more fixed defaults: the Prometheus exporter port
(``--prometheus-port``, 9000) and the shard socket (``--shard-uds-path``,
/tmp/text-generation-server). Two native TGI engines on one box would collide, so
each gets a socket path of its own; the exporter port is left to extra_args.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from llmops_tui.engines.base import (
    LaunchRefused,
    LaunchSpec,
    assemble_launch,
    container_name,
    docker_gpus,
    expand,
    field_flags,
    gpu_env,
    hf_home,
    is_ip_literal,
    model_arg,
    require_docker_host_ip,
)
from llmops_tui.engines.facts import TGI
from llmops_tui.engines.logs import EngineLogRules, rule
from llmops_tui.profiles.profile import Profile

DOCKER_PORT = 80
DOCKER_MODEL_DIR = "/models"
API_KEY_REFUSAL = TGI.api_key_refusal


def hostname_refusal(host: str) -> str:
    return TGI.host_ip_reason.format(host=host)


SLEEP = None  # TGI cannot give back its GPU memory and stay resident (engines/sleep.py)


# TGI launcher flags for the profile fields (docs/source/reference/launcher.md); TGI has no
# pipeline/data parallelism, --served-model-name or per-sequence limit (profiles refuse them).
FLAGS = {
    "revision": "--revision",
    "tensor_parallel": "--num-shard",
    "quantization": "--quantize",
    "dtype": "--dtype",
    "kv_cache_dtype": "--kv-cache-dtype",
    "gpu_memory_fraction": "--cuda-memory-fraction",
    "max_model_len": "--max-total-tokens",
    "trust_remote_code": "--trust-remote-code",
}


def engine_flags(profile: Profile, model: str, host: str, port: int) -> list[str]:
    argv = ["--model-id", model, "--hostname", host, "--port", str(port)]
    return argv + field_flags(profile, FLAGS) + list(profile.extra_args)


def build_argv(profile: Profile) -> list[str]:
    model = model_arg(profile)
    argv = [expand(profile.executable or "text-generation-launcher")]
    argv += engine_flags(profile, model, profile.host, profile.port)
    if "--shard-uds-path" not in profile.extra_args:
        argv += ["--shard-uds-path", f"/tmp/text-generation-server-llmops-{profile.name}"]
    return argv


def build_docker_argv(profile: Profile, environ: dict[str, str]) -> list[str]:
    argv = ["docker", "run", "--name", container_name(profile)]
    argv += ["--gpus", docker_gpus(profile), "--shm-size", "1g"]
    argv += ["-p", f"{profile.host}:{profile.port}:{DOCKER_PORT}"]
    argv += ["-v", f"{hf_home(environ)}:/data"]
    for key in sorted(profile.resolved_env(environ)):
        argv += ["-e", key]
    model = profile.model
    if profile.is_local_model:
        local = model_arg(profile)
        model = f"{DOCKER_MODEL_DIR}/{Path(local).name}"
        argv += ["-v", f"{local}:{model}:ro"]
    argv.append(profile.image or "ghcr.io/huggingface/text-generation-inference")
    # Inside the container TGI binds every interface of the container on port 80;
    # the host side of -p decides who can reach it.
    argv += engine_flags(profile, model, "0.0.0.0", DOCKER_PORT)
    return argv


def build_launch(
    profile: Profile,
    environ: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> LaunchSpec:
    if profile.api_key_env:
        raise LaunchRefused(API_KEY_REFUSAL)
    if profile.runtime != "docker" and not is_ip_literal(profile.host):
        raise LaunchRefused(hostname_refusal(profile.host))
    environ = dict(os.environ) if environ is None else environ
    env = profile.resolved_env(environ)
    docker = profile.runtime == "docker"
    if docker:
        require_docker_host_ip(profile)  # before the API_KEY check, as that names docker
    # Every launcher flag also reads its environment variable (clap `env`), so an API_KEY
    # the engine inherits (a native launch gets this shell's environment; a container gets
    # the profile's env) becomes `--api-key KEY` on the router's command line
    # (launcher/src/main.rs:849, 1942-1945, v3.3.6).
    if "API_KEY" in env or (not docker and environ.get("API_KEY")):
        raise LaunchRefused(
            "API_KEY is set in the environment TGI would start with: text-generation-launcher "
            "reads it as --api-key and passes it to text-generation-router on the command "
            "line (launcher/src/main.rs), where `ps` shows it. Unset API_KEY (or drop it from "
            "the profile's env) before launching TGI."
        )
    if not docker:
        env.update(gpu_env(profile))
    return assemble_launch(
        profile,
        environ,
        env,
        build_argv,
        build_docker_argv,
        served_model_name=model_arg(profile),
        models_path=None,
        readiness="tgi",
        info_path="/info",
        engine_module=None,
        stop_signal=signal.SIGTERM,
    )


# Log lines of TGI v3.3.6, each matched by a line in tests/fixtures/logs/tgi-3.3.6-*.log
# (the source-lines file cites file:line): launcher/src/main.rs ("Starting check and
# download process for …" 1504, "Successfully downloaded weights for …" 1546, "Sharding model
# on N processes" 2093, "Starting shard" 1149, "Waiting for shard to be ready..." 1244,
# "Shard ready in …" 1240, "Starting Webserver" 1838, "Shard N failed to start" 1673, "Shard N
# crashed" 2331, "Webserver Crashed" 2338, "Download encountered an error" 1560, "Shard
# complete standard error output" 1217; `fn main() -> Result<(), LauncherError>` 2034, so a
# launcher error ends the log as "Error: <variant>" (enum LauncherError 1411)),
# backends/v3/src/lib.rs ("Warming up model" 125, "Setting max batch total tokens to N" 137),
# router/src/server.rs ("Connected" 2298 once the HTTP app is serving). v3.3.6 has no
# "Starting download process" line (the check-and-download line covers it).
# Prefix (tracing fmt): "2025-01-23T19:35:20.123456Z  INFO shard-manager: text_generation_launcher: "
# or "… INFO text_generation_router::server: router/src/server.rs:2302: ".
LOG_RULES = EngineLogRules(
    prefix=re.compile(
        r"^\d{4}-\d\d-\d\dT[\d:.]+Z\s+(?P<level>[A-Z]+)\s+"
        # span ("shard-manager: "), target ("text_generation_router::server: "), file:line;
        # lower-case only, so a message starting "Error: …" keeps its first word.
        r"(?:[a-z][a-z0-9_-]*(?:\{[^}]*\})?: )?(?:[a-z_][a-z0-9_]*(?:::[a-z0-9_]+)*: )?"
        r"(?:[\w/.-]+\.rs:\d+: )?"
    ),
    progress=(
        rule(r"Starting check and download process for (\S+)", "checking/downloading {0}"),
        rule(r"Successfully downloaded weights for (\S+)", "weights present for {0}"),
        rule(r"Sharding model on (\d+) processes", "sharding over {0} GPUs"),
        rule(r"Starting shard", "starting shards"),
        rule(r"Waiting for shard to be ready", "loading weights (waiting for shards)"),
        rule(r"Shard ready in ([\d.]+\w*)", "shard ready in {0}"),
        rule(r"Starting Webserver", "starting router"),
        rule(r"Warming up model", "warming up model"),
        rule(
            r"Setting max batch total tokens to (\d+)",
            "token budget {0} (max batch total tokens)",
        ),
        rule(r"^Connected$", "router connected", startup_complete=True),
    ),
    # "Error: <variant>" lines that only say which stage failed (the cause was logged
    # before them); ArgumentValidation / NotEnoughCUDADevices carry their own reason.
    generic_errors=(
        re.compile(
            r"^Error: (?:ShardCannotStart|ShardDisconnected|ShardFailed|WebserverFailed"
            r"|WebserverCannotStart|DownloadError)$"
        ),
    ),
    fatal_markers=(
        re.compile(r"Shard \d+ failed to start"),
        re.compile(r"Shard \d+ crashed"),
        re.compile(r"Webserver Crashed"),
        re.compile(r"Download encountered an error"),
        re.compile(r"Shard complete standard error output"),
        re.compile(
            r"^Error: (?:ShardCannotStart|ShardDisconnected|ShardFailed|WebserverFailed"
            r"|WebserverCannotStart|DownloadError|ArgumentValidation|NotEnoughCUDADevices)\b"
        ),
    ),
)
