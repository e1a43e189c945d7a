"""The profile fields: their TOML kind and what each means."""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------
# Field schema


@dataclass(frozen=True)
class _Field:
    kind: str  # "str" | "int" | "float" | "bool" | "strlist" | "table" | "gpus" | "env"
    doc: str


SCHEMA: dict[str, _Field] = {
    "name": _Field(
        "str", "profile name (letters, digits, '.', '_', '-'); defaults to the file name"
    ),
    "description": _Field("str", "free text shown in lists"),
    "engine": _Field("str", "one of vllm, sglang, tgi"),
    "model": _Field("str", "Hugging Face repo id (org/name) or a local path"),
    "revision": _Field("str", "model revision: branch, tag or commit"),
    "host": _Field("str", "address to bind (default 127.0.0.1)"),
    "port": _Field("int", "TCP port, 1-65535 (default: the engine's own)"),
    "tensor_parallel": _Field("int", "tensor-parallel size, >= 1"),
    "pipeline_parallel": _Field("int", "pipeline-parallel size, >= 1"),
    "data_parallel": _Field("int", "data-parallel size, >= 1"),
    "quantization": _Field("str", "quantization method the engine accepts"),
    "dtype": _Field("str", "weights/activations dtype"),
    "kv_cache_dtype": _Field("str", "KV-cache dtype"),
    "gpu_memory_fraction": _Field("float", "fraction of GPU memory for the engine, 0 < x <= 1"),
    "max_model_len": _Field("int", "context length in tokens, >= 1"),
    "max_num_seqs": _Field("int", "maximum concurrent sequences, >= 1"),
    "served_model_name": _Field("str", "model name clients send"),
    "gpus": _Field("gpus", 'GPU ids for CUDA_VISIBLE_DEVICES: "0,1" or [0, 1]'),
    "env": _Field("env", "table of environment variables, or the name of an engine environment"),
    "engine_env": _Field("str", "name of a managed engine environment (llmops envs)"),
    "python": _Field("str", "interpreter that runs the engine (e.g. ~/venvs/vllm/bin/python)"),
    "executable": _Field("str", "engine binary (e.g. vllm, text-generation-launcher)"),
    "runtime": _Field("str", "native or docker"),
    "image": _Field("str", "docker image (runtime = docker)"),
    "api_key_env": _Field("str", "name of the environment variable holding the API key"),
    "trust_remote_code": _Field("bool", "allow model code from the Hub"),
    "sleep_mode": _Field(
        "bool",
        "start the engine able to sleep (vLLM sleep mode, SGLang memory saver): `llmops swap` "
        "then trades the GPU between resident engines in about a second",
    ),
    "extra_args": _Field("strlist", "list of extra command-line arguments, passed verbatim"),
}
