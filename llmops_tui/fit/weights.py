"""The weight format (dtype or quantization) and the KV-cache dtype, in bytes per element."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmops_tui.fit.shape import first_of, text_config
from llmops_tui.fit.units import DTYPE_BYTES

# ---------------------------------------------------------------------------
# Weight format (dtype or quantization)


@dataclass(frozen=True)
class WeightFormat:
    name: str  # "bf16", "fp8", "awq int4 g128", ...
    quantized_bytes: float  # bytes per quantized (linear-layer) parameter
    base_bytes: float  # bytes per unquantized parameter (embeddings, norms)
    base_name: str
    packed: bool = False  # < 8 bits: safetensors counts packed int32 elements, not parameters
    note: str = ""

    @property
    def is_quantized(self) -> bool:
        return self.quantized_bytes != self.base_bytes or self.name != self.base_name


def _dtype_name(dtype: str | None) -> tuple[str, float]:
    d = (dtype or "bfloat16").lower().replace("torch.", "")
    short = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32"}.get(d, d)
    return short, float(DTYPE_BYTES.get(d, 2))


def _int_group_bytes(bits: int, group: int | None) -> tuple[float, str]:
    """bits/8 per weight + per group one fp16 scale (2 B) and one packed zero (bits/8 B)."""
    if group and group > 0:
        return bits / 8 + (
            2 + bits / 8
        ) / group, f"{bits}/8 B + (2 B scale + {bits}/8 B zero)/{group}"
    # per-channel scales: negligible per weight
    return bits / 8, f"{bits}/8 B (per-channel scales ignored)"


def weight_format(config: Mapping[str, Any], dtype_override: str | None = None) -> WeightFormat:
    """Bytes per parameter from config.json's quantization_config / torch_dtype."""
    cfg = text_config(config)
    base_name, base_bytes = _dtype_name(dtype_override or first_of(cfg, "torch_dtype", "dtype"))
    q = cfg.get("quantization_config") or config.get("quantization_config")
    if not isinstance(q, Mapping):
        return WeightFormat(base_name, base_bytes, base_bytes, base_name)
    method = str(q.get("quant_method") or q.get("quantization_method") or "").lower()
    bits = q.get("bits") or q.get("w_bit") or q.get("weight_bits")
    group = q.get("group_size") or q.get("q_group_size")
    if method in ("fp8", "fbgemm_fp8", "mxfp8") or (method == "modelopt" and "FP8" in str(q)):
        return WeightFormat("fp8", 1.0, base_bytes, base_name)
    if method in ("awq", "gptq", "auto_awq", "auto_gptq", "awq_marlin", "gptq_marlin"):
        b = int(bits or 4)
        per, expl = _int_group_bytes(b, int(group) if group else None)
        g = f" g{group}" if group else ""
        return WeightFormat(
            f"{method} int{b}{g}", per, base_bytes, base_name, packed=b < 8, note=expl
        )
    if method == "bitsandbytes":
        if q.get("load_in_4bit"):
            per, expl = _int_group_bytes(4, int(q.get("bnb_4bit_blocksize") or 64))
            return WeightFormat("bnb 4-bit", per, base_bytes, base_name, packed=True, note=expl)
        return WeightFormat("bnb int8", 1.0, base_bytes, base_name)
    if method == "compressed-tensors":
        groups = q.get("config_groups") or {}
        for grp in groups.values() if isinstance(groups, Mapping) else ():
            w = grp.get("weights") if isinstance(grp, Mapping) else None
            if not isinstance(w, Mapping):
                continue
            b = int(w.get("num_bits") or 8)
            kind = str(w.get("type") or "int")
            if b == 8 and kind == "float":
                return WeightFormat("fp8 (compressed-tensors)", 1.0, base_bytes, base_name)
            if b == 8:
                return WeightFormat("int8 (compressed-tensors)", 1.0, base_bytes, base_name)
            gs = w.get("group_size")
            per, expl = _int_group_bytes(b, int(gs) if gs else None)
            return WeightFormat(
                f"int{b} (compressed-tensors)", per, base_bytes, base_name, packed=True, note=expl
            )
    if method in ("mxfp4", "gpt_oss_mxfp4"):
        # 4-bit values + one shared 8-bit exponent per 32 values
        return WeightFormat("mxfp4", 0.5 + 1 / 32, base_bytes, base_name, packed=True)
    if bits:
        b = int(bits)
        per, expl = _int_group_bytes(b, int(group) if group else None)
        return WeightFormat(f"{method or 'int'}{b}", per, base_bytes, base_name, b < 8, expl)
    return WeightFormat(
        f"{method or 'unknown'} (assumed {base_name})",
        base_bytes,
        base_bytes,
        base_name,
        note=f"unknown quantization '{method}': assumed {base_name}",
    )


def kv_dtype_bytes(kv_dtype: str | None, fmt: WeightFormat) -> tuple[str, float]:
    """KV element size: 'auto' follows the model's (unquantized) dtype."""
    if not kv_dtype or kv_dtype == "auto":
        return fmt.base_name, fmt.base_bytes
    d = kv_dtype.lower()
    if d.startswith("fp8") or d.startswith("f8"):
        return "fp8", 1.0
    name, b = _dtype_name(d)
    return name, b
