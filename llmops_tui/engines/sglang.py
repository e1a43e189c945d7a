"""SGLang adapter: Profile → LaunchSpec, log rules.

Flags from ``python/sglang/srt/server_args.py`` (SGLang 0.5.23; flags are the
ServerArgs field names with dashes, see shared/reference/engines.md):
``<python> -m sglang.launch_server --model-path M --host H --port P`` with
``--tp-size``, ``--dp-size``, ``--pp-size``, ``--quantization``, ``--dtype``,
``--kv-cache-dtype``, ``--mem-fraction-static``, ``--context-length``,
``--max-running-requests``, ``--served-model-name``, ``--revision``,
``--trust-remote-code``, and ``--enable-metrics`` always (SGLang exports no
Prometheus metrics without it, and the KV pane needs them).

API key: ServerArgs.api_key has no environment form (there is no SGLANG_API_KEY
read by the server). SGLang does accept ``--config FILE.yaml`` whose keys are
flag names (``python/sglang/srt/server_args_config_parser.py`` turns ``api-key: K``
into ``--api-key K`` inside the server process, so it never reaches the process
command line). The supervisor writes that file with mode 0600 under the engine's
state folder and deletes it once the engine has started.
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

from llmops_tui.engines.base import (
    LaunchRefused,
    LaunchSpec,
    container_name,
    docker_gpus,
    expand,
    field_flags,
    gpu_env,
    hf_home,
    profile_python,
)
from llmops_tui.engines.logs import EngineLogRules, rule
from llmops_tui.engines.sleep import SGLANG_SLEEP
from llmops_tui.profiles.profile import Profile

LAUNCH_MODULE = "sglang.launch_server"
ENGINE_MODULE = "sglang"
SECRET_CONFIG_NAME = "sglang-secret-args.yaml"
DOCKER_PORT = 30000
SLEEP = SGLANG_SLEEP  # sleep_mode = true: memory saver, release/resume_memory_occupation


# SGLang's flags for the profile fields (sglang/srt/server_args.py).
FLAGS = {
    "revision": "--revision",
    "served_model_name": "--served-model-name",
    "tensor_parallel": "--tp-size",
    "pipeline_parallel": "--pp-size",
    "data_parallel": "--dp-size",
    "quantization": "--quantization",
    "dtype": "--dtype",
    "kv_cache_dtype": "--kv-cache-dtype",
    "gpu_memory_fraction": "--mem-fraction-static",
    "max_model_len": "--context-length",
    "max_num_seqs": "--max-running-requests",
    "trust_remote_code": "--trust-remote-code",
}


def engine_flags(profile: Profile, model: str, host: str, port: int) -> list[str]:
    argv = ["--model-path", model, "--host", host, "--port", str(port)]
    argv += field_flags(profile, FLAGS)
    if profile.sleep_mode:
        argv += SLEEP.flags
    if "--enable-metrics" not in profile.extra_args:  # the KV pane needs /metrics
        argv.append("--enable-metrics")
    return argv + list(profile.extra_args)


def _model(profile: Profile) -> str:
    return expand(profile.model) if profile.is_local_model else profile.model


def build_argv(profile: Profile, secret_config: Path | None = None) -> list[str]:
    if profile.executable:
        # A wrapper script that takes launch_server's flags.
        head = [expand(profile.executable)]
    else:
        head = [profile_python(profile) or "python3", "-m", LAUNCH_MODULE]
    argv = head + engine_flags(profile, _model(profile), profile.host, profile.port)
    if secret_config is not None:
        argv += ["--config", str(secret_config)]
    return argv


def build_docker_argv(
    profile: Profile, environ: dict[str, str], secret_config: Path | None = None
) -> list[str]:
    """``docker run … lmsysorg/sglang:TAG python3 -m sglang.launch_server …``."""
    argv = ["docker", "run", "--name", container_name(profile), "--init"]
    argv += ["--gpus", docker_gpus(profile), "--ipc", "host", "--shm-size", "32g"]
    argv += ["-p", f"{profile.host}:{profile.port}:{DOCKER_PORT}"]
    argv += ["-v", f"{hf_home(environ)}:/root/.cache/huggingface"]
    for key in sorted(profile.resolved_env(environ)):
        argv += ["-e", key]
    model = _model(profile)
    if profile.is_local_model:
        argv += ["-v", f"{model}:{model}:ro"]
    inner_secret = None
    if secret_config is not None:
        inner_secret = f"/run/llmops/{SECRET_CONFIG_NAME}"
        argv += ["-v", f"{secret_config}:{inner_secret}:ro"]
    argv += [profile.image or "lmsysorg/sglang", "python3", "-m", LAUNCH_MODULE]
    argv += engine_flags(profile, model, "0.0.0.0", DOCKER_PORT)
    if inner_secret:
        argv += ["--config", inner_secret]
    return argv


def build_launch(
    profile: Profile,
    environ: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> LaunchSpec:
    environ = dict(os.environ) if environ is None else environ
    env = profile.resolved_env(environ)
    env.update(gpu_env(profile))
    secret: tuple[Path, str] | None = None
    if profile.api_key_env:
        key = environ.get(profile.api_key_env)
        if not key:
            raise LaunchRefused(
                f"api_key_env = {profile.api_key_env!r} but that variable is not set; "
                f"export {profile.api_key_env}=… first"
            )
        if state_dir is None:
            raise LaunchRefused("SGLang API key needs a state folder for its 0600 config file")
        # YAML double-quoted scalar: JSON string escaping is valid YAML.
        secret = (state_dir / SECRET_CONFIG_NAME, f"api-key: {json.dumps(key)}\n")
    secret_path = secret[0] if secret else None
    docker = profile.runtime == "docker"
    argv = (
        build_docker_argv(profile, {**environ, **env}, secret_path)
        if docker
        else build_argv(profile, secret_path)
    )
    return LaunchSpec(
        profile=profile,
        argv=tuple(argv),
        env=env,
        host=profile.host,
        port=profile.port,
        served_model_name=profile.model_name if profile.served_model_name else _model(profile),
        container_name=container_name(profile) if docker else None,
        runtime=profile.runtime,
        engine_module=ENGINE_MODULE if not (docker or profile.executable) else None,
        stop_signal=signal.SIGTERM,
        secret_file=secret,
        api_key_env=profile.api_key_env,
    )


# Log lines, from SGLang's own source: python/sglang/srt/model_executor/model_runner.py
# ("Load weight begin/end", "KV Cache is allocated", "Capture cuda graph begin/end"),
# python/sglang/srt/managers/scheduler.py ("Scheduler hit an exception: <traceback>"),
# python/sglang/srt/entrypoints/http_server.py ("The server is fired up and ready to
# roll!" after the warmup request). Prefix: "[2026-02-01 00:05:03 TP0] " (date, time,
# then optional DPn/TPn/EPn/PPn rank tags); no level in the prefix.
LOG_RULES = EngineLogRules(
    prefix=re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Z]+\d+)*\] ?"),
    progress=(
        rule(r"Load weight begin\. avail mem=([\d.]+) GB", "loading weights ({0} GB free)"),
        rule(
            r"Loading safetensors checkpoint shards:\s*(\d+)% Completed \| (\d+)/(\d+)",
            "loading weights {0}% ({1}/{2} shards)",
        ),
        rule(
            r"Load weight end\.(?: elapsed=([\d.]+) s,)?.*?(?:mem usage=([\d.]+) GB)?\.?$",
            lambda m: (
                "weights loaded"
                + (f" in {m.group(1)} s" if m.group(1) else "")
                + (f", {m.group(2)} GB" if m.group(2) else "")
            ),
        ),
        rule(
            r"KV Cache is allocated\..*?#tokens: (\d+), K size: ([\d.]+) GB, V size: ([\d.]+) GB",
            "KV cache {0} tokens (K {1} GB + V {2} GB)",
        ),
        rule(r"Capture cuda graph begin", "capturing CUDA graphs"),
        rule(r"Capturing batches \(bs=(\d+)[^)]*\):\s*(\d+)%", "capturing CUDA graphs {1}%"),
        rule(r"Capture cuda graph end\. Time elapsed: ([\d.]+) s", "CUDA graphs captured in {0} s"),
        rule(r"max_total_num_tokens=(\d+)", "KV cache max {0} tokens"),
        rule(r"Uvicorn running on (\S+)", "HTTP server on {0}"),
        rule(r"Application startup complete\.", "HTTP server up; warming up"),
        rule(
            r"The server is fired up and ready to roll!",
            "The server is fired up and ready to roll!",
            startup_complete=True,
        ),
    ),
    generic_errors=(
        re.compile(r"Initialization failed\. (?:Please see the error messages above|warmup)"),
        re.compile(r"scheduler is dead"),
    ),
    fatal_markers=(
        re.compile(r"Scheduler hit an exception"),
        re.compile(r"Initialization failed"),
        re.compile(r"Rank \d+ scheduler is dead"),
    ),
)
