"""SGLang adapter: Profile → LaunchSpec, log rules.

Flags from SGLang 0.5.23's ServerArgs (``sglang/srt/server_args.py`` add_cli_args; the
fields and choices in ``sglang/srt/arg_groups/fields/`` and ``arg_groups/choices.py``; flags
are the field names with dashes); tests/contract parses every argv built here with it:
``<python> -m sglang.launch_server --model-path M --host H --port P`` with
``--tp-size``, ``--dp-size``, ``--pp-size``, ``--quantization``, ``--dtype``,
``--kv-cache-dtype``, ``--mem-fraction-static``, ``--context-length``,
``--max-running-requests``, ``--served-model-name``, ``--revision``,
``--trust-remote-code``, and ``--enable-metrics`` always (SGLang exports no
Prometheus metrics without it, and the KV pane needs them).

API key: refused (API_KEY_REFUSAL). SGLang 0.5.23 has no environment form of
``--api-key``; its ``--config FILE.yaml`` keeps the key off the process command line,
but SGLang merges the file into its argv and then writes every server argument, the key
included, to its log at start (sglang/srt/entrypoints/engine.py:1185 logs
``server_args=…resolved_dict()``, which redacts only watermark secrets) and keeps the
merged argv as ``launch_command`` (sglang/srt/server_args.py:717), returned by
``GET /server_info`` (http_server.py:863, behind the API-key middleware: only key holders
read it). The log is what ``llmops logs`` and the TUI show, so the key would be on screen
and on disk. tests/contract/test_sglang_contract.py checks SGLang still does this.
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
    model_arg,
    profile_python,
)
from llmops_tui.engines.facts import SGLANG
from llmops_tui.engines.logs import EngineLogRules, rule
from llmops_tui.engines.sleep import SGLANG_SLEEP
from llmops_tui.profiles.profile import Profile

LAUNCH_MODULE = "sglang.launch_server"
ENGINE_MODULE = "sglang"
API_KEY_REFUSAL = SGLANG.api_key_refusal
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


def build_argv(profile: Profile) -> list[str]:
    if profile.executable:
        # A wrapper script that takes launch_server's flags.
        head = [expand(profile.executable)]
    else:
        head = [profile_python(profile) or "python3", "-m", LAUNCH_MODULE]
    return head + engine_flags(profile, model_arg(profile), profile.host, profile.port)


def build_docker_argv(profile: Profile, environ: dict[str, str]) -> list[str]:
    """``docker run … lmsysorg/sglang:TAG python3 -m sglang.launch_server …``."""
    argv = ["docker", "run", "--name", container_name(profile), "--init"]
    argv += ["--gpus", docker_gpus(profile), "--ipc", "host", "--shm-size", "32g"]
    argv += ["-p", f"{profile.host}:{profile.port}:{DOCKER_PORT}"]
    argv += ["-v", f"{hf_home(environ)}:/root/.cache/huggingface"]
    for key in sorted(profile.resolved_env(environ)):
        argv += ["-e", key]
    model = model_arg(profile)
    if profile.is_local_model:
        argv += ["-v", f"{model}:{model}:ro"]
    argv += [profile.image or "lmsysorg/sglang", "python3", "-m", LAUNCH_MODULE]
    return argv + engine_flags(profile, model, "0.0.0.0", DOCKER_PORT)


def build_launch(
    profile: Profile,
    environ: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> LaunchSpec:
    if profile.api_key_env:
        raise LaunchRefused(API_KEY_REFUSAL)
    environ = dict(os.environ) if environ is None else environ
    env = profile.resolved_env(environ)
    env.update(gpu_env(profile))
    docker = profile.runtime == "docker"
    return assemble_launch(
        profile,
        environ,
        env,
        build_argv,
        build_docker_argv,
        engine_module=ENGINE_MODULE if not (docker or profile.executable) else None,
        stop_signal=signal.SIGTERM,
    )


# Log lines of SGLang 0.5.23, each matched by a line in tests/fixtures/logs/sglang-0.5.23-*.log
# (the source-lines file cites file:line, checked by tests/contract against the installed
# release): srt/model_executor/model_runner.py ("Load weight begin/end"),
# srt/mem_cache/memory_pool.py ("KV Cache is allocated. dtype: …, #tokens: N, K size / KV
# size"), srt/model_executor/model_runner_components/cuda_graph_setup.py ("Capture {role}
# decode|prefill|verify CUDA graph begin. / end. … elapsed=… s"), srt/managers/scheduler.py
# ("max_total_num_tokens=…", "Scheduler hit an exception: <traceback>"),
# srt/entrypoints/engine.py ("Rank N scheduler died during initialization", "Received sigquit
# from a child process", "Initialization failed. Please see the error messages above."),
# srt/entrypoints/http_server.py ("The server is fired up and ready to roll!" after the
# warmup request). Prefix (srt/utils/common.py configure_logger): "[2026-02-01 00:05:03 TP0] "
# or, with SGLANG_LOG_MS, "[2026-02-01 00:05:03.123 DP0 PP1 ATTN_CP0 MOE_DP1 TP3 EP2] "
# (rank tags from srt/managers/scheduler.py run_scheduler_process); no level in the prefix.
LOG_RULES = EngineLogRules(
    prefix=re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Z][A-Z_]*\d+)*\] ?"),
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
            r"KV Cache is allocated\..*?#tokens: (\d+), "
            r"(?:K size: ([\d.]+) GB, V size: ([\d.]+) GB|KV size: ([\d.]+) GB)",
            lambda m: (
                f"KV cache {m.group(1)} tokens (K {m.group(2)} GB + V {m.group(3)} GB)"
                if m.group(2)
                else f"KV cache {m.group(1)} tokens ({m.group(4)} GB)"
            ),
        ),
        rule(
            r"Capture (\w+ (?:decode|prefill|verify)) (\w+) graph begin\.",
            "capturing {1} graphs ({0})",
        ),
        rule(r"Capturing batches \(bs=(\d+)[^)]*\):\s*(\d+)%", "capturing CUDA graphs {1}%"),
        rule(
            r"Capture (\w+ (?:decode|prefill|verify)) (\w+) graph end\..*?elapsed=([\d.]+) s",
            "{1} graphs captured in {2} s ({0})",
        ),
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
    ),
    fatal_markers=(
        re.compile(r"Scheduler hit an exception"),
        re.compile(r"Initialization failed"),
        re.compile(r"Rank \d+ scheduler died during initialization"),
        re.compile(r"Received sigquit from a child process"),
    ),
)
