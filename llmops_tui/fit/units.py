"""Bytes per dtype, the memory reserve, the fit error, and sizes written for people."""

from __future__ import annotations

GIB = 1024**3

# Bytes per element of each torch / safetensors dtype name.
DTYPE_BYTES: dict[str, float] = {
    "float32": 4,
    "float": 4,
    "f32": 4,
    "bfloat16": 2,
    "bf16": 2,
    "float16": 2,
    "half": 2,
    "f16": 2,
    "fp16": 2,
    "fp8": 1,
    "fp8_e4m3": 1,
    "fp8_e4m3fn": 1,
    "fp8_e5m2": 1,
    "f8_e4m3": 1,
    "f8_e5m2": 1,
    "int8": 1,
    "i8": 1,
    "u8": 1,
    "i32": 4,
    "i64": 8,
    "f64": 8,
}

DEFAULT_RESERVE_BYTES = 2 * GIB
RESERVE_NOTE = (
    "activations (profile run), CUDA graphs, NCCL/cuBLAS workspaces; an estimate: "
    "vLLM measures it at start-up"
)


class FitError(ValueError):
    """config.json lacks what the estimate needs; the message names the field."""


def fmt_count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} B"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n:,.0f}"


def fmt_gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def fmt_bytes_per(b: float) -> str:
    return f"{b:g} B" if b == int(b) else f"{b:.3f} B"
