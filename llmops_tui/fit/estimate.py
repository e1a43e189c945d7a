"""The estimate: weights and KV cache per GPU at each tensor-parallel size, with the
arithmetic as lines a user can check."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmops_tui.fit.gpus import Gpu
from llmops_tui.fit.shape import ModelShape, estimate_params, shape_from_config
from llmops_tui.fit.units import (
    DEFAULT_RESERVE_BYTES,
    RESERVE_NOTE,
    FitError,
    fmt_bytes_per,
    fmt_count,
    fmt_gib,
)
from llmops_tui.fit.weights import WeightFormat, kv_dtype_bytes, weight_format

# ---------------------------------------------------------------------------
# The estimate


@dataclass(frozen=True)
class TpOption:
    tp: int
    weights_per_gpu: int
    kv_budget_per_gpu: int
    kv_bytes_per_token_per_gpu: int
    kv_tokens: int
    fits: bool
    reason: str


@dataclass
class FitResult:
    params: int
    params_source: str
    weight_format: WeightFormat
    weights_bytes: int
    kv_dtype: str
    kv_bytes_per_token: int
    context_len: int | None
    gpus: list[Gpu]
    memory_fraction: float
    reserve_bytes: int
    options: list[TpOption] = field(default_factory=list)
    tp: int | None = None
    lines: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.tp is not None

    @property
    def chosen(self) -> TpOption | None:
        return next((o for o in self.options if o.tp == self.tp), None)

    @property
    def verdict(self) -> str:
        if not self.gpus:
            return "no GPUs given (NVML sees none): weights and KV figures only"
        g = self.gpus[0]
        what = f"{len(self.gpus)}× {g.name} {fmt_gib(g.memory_total)}"
        if self.fits and self.chosen:
            c = self.chosen
            return (
                f"fits on {what} with TP={c.tp}: {c.kv_tokens:,} KV tokens "
                f"({fmt_gib(c.kv_budget_per_gpu * c.tp)} KV in total)"
            )
        return f"does not fit on {what}: " + (self.options[-1].reason if self.options else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "fits": self.fits,
            "tensor_parallel": self.tp,
            "verdict": self.verdict,
            "params": self.params,
            "params_source": self.params_source,
            "weight_format": self.weight_format.name,
            "weights_bytes": self.weights_bytes,
            "kv_dtype": self.kv_dtype,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "context_len": self.context_len,
            "memory_fraction": self.memory_fraction,
            "reserve_bytes": self.reserve_bytes,
            "gpus": [
                {"index": g.index, "name": g.name, "memory_total": g.memory_total}
                for g in self.gpus
            ],
            "options": [o.__dict__ for o in self.options],
            "lines": self.lines,
        }


def kv_bytes_per_token(shape: ModelShape, kv_bytes: float, tp: int = 1) -> tuple[int, str]:
    """KV bytes per token on one GPU at tensor-parallel size ``tp``, with the arithmetic."""
    if shape.is_mla:
        width = shape.kv_lora_rank + shape.qk_rope_head_dim
        total = int(shape.layers * width * kv_bytes)
        return total, (
            f"{shape.layers} layers × ({shape.kv_lora_rank} kv_lora_rank + "
            f"{shape.qk_rope_head_dim} rope dim) × {fmt_bytes_per(kv_bytes)} (MLA latent, "
            f"replicated on every GPU) = {total:,} B"
        )
    heads = max(1, math.ceil(shape.kv_heads / tp))
    total = int(2 * shape.layers * heads * shape.head_dim * kv_bytes)
    hd_src = "head_dim" if shape.head_dim_explicit else f"{shape.hidden}/{shape.heads}"
    heads_txt = f"{heads} KV heads" if tp == 1 else f"{heads} KV heads per GPU"
    return total, (
        f"2 × {shape.layers} layers × {heads_txt} × {shape.head_dim} ({hd_src}) × "
        f"{fmt_bytes_per(kv_bytes)} = {total:,} B"
    )


def estimate_fit(
    config: Mapping[str, Any],
    *,
    params: int | None = None,
    params_source: str = "safetensors metadata",
    gpus: Sequence[Gpu] | Callable[[], Sequence[Gpu]] = (),
    memory_fraction: float = 0.9,
    kv_dtype: str | None = "auto",
    context_len: int | None = None,
    reserve_bytes: int = DEFAULT_RESERVE_BYTES,
    dtype: str | None = None,
) -> FitResult:
    """Weights, KV bytes per token and the smallest tensor-parallel size that fits.

    ``params``: the count from safetensors metadata when known; otherwise it is
    estimated from the config. ``gpus``: a list, or a callable such as
    :func:`read_nvml_gpus`. ``context_len``: the KV cache must hold at least one
    sequence this long (vLLM refuses to start otherwise); default: the config's
    max_position_embeddings.
    """
    if not 0 < memory_fraction <= 1:
        raise FitError(f"memory fraction {memory_fraction} must be in (0, 1]")
    shape = shape_from_config(config)
    fmt = weight_format(config, dtype)
    est = estimate_params(shape)
    gpu_list = list(gpus() if callable(gpus) else gpus)
    lines: list[str] = []

    if params and fmt.packed:
        lines.append(
            f"params: {fmt_count(est.total)} estimated from config.json "
            f"(the {params_source} count, {fmt_count(params)}, counts packed {fmt.name} "
            "elements, not parameters)"
        )
        params, params_source = None, "config.json estimate"
    if params:
        total = int(params)
        lines.append(f"params: {fmt_count(total)} ({params_source})")
    else:
        total = est.total
        params_source = "config.json estimate"
        if not lines:
            kind = f"MoE, {shape.experts} experts" if shape.is_moe else "dense"
            lines.append(
                f"params: {fmt_count(total)} estimated from config.json ({kind}, "
                f"{shape.layers} layers, hidden {shape.hidden}, vocab {shape.vocab})"
            )
    if shape.is_moe:
        lines.append(
            f"MoE: all {shape.experts} experts are held in memory "
            f"({shape.experts_per_token or '?'} active per token)"
        )

    if fmt.is_quantized:
        unq = min(est.unquantized, total)
        q = total - unq
        weights = int(q * fmt.quantized_bytes + unq * fmt.base_bytes)
        note = f" [{fmt.note}]" if fmt.note else ""
        lines.append(
            f"weights: {fmt_count(q)} quantized params × {fmt_bytes_per(fmt.quantized_bytes)} "
            f"({fmt.name}){note} + {fmt_count(unq)} embedding/norm params × "
            f"{fmt_bytes_per(fmt.base_bytes)} ({fmt.base_name}) = {fmt_gib(weights)}"
        )
    else:
        weights = int(total * fmt.base_bytes)
        note = f" [{fmt.note}]" if fmt.note else ""
        lines.append(
            f"weights: {fmt_count(total)} params × {fmt_bytes_per(fmt.base_bytes)} "
            f"({fmt.name}){note} = {fmt_gib(weights)}"
        )

    kv_name, kv_b = kv_dtype_bytes(kv_dtype, fmt)
    kv_tok, kv_expl = kv_bytes_per_token(shape, kv_b)
    lines.append(f"KV per token ({kv_name}): {kv_expl}")
    ctx = context_len or shape.max_positions
    if ctx:
        lines.append(
            f"one {ctx:,}-token sequence needs {fmt_gib(kv_tok * ctx)} of KV"
            + ("" if context_len else " (context = max_position_embeddings)")
        )

    result = FitResult(
        params=total,
        params_source=params_source,
        weight_format=fmt,
        weights_bytes=weights,
        kv_dtype=kv_name,
        kv_bytes_per_token=kv_tok,
        context_len=ctx,
        gpus=gpu_list,
        memory_fraction=memory_fraction,
        reserve_bytes=reserve_bytes,
        lines=lines,
    )
    if not gpu_list:
        lines.append("GPUs: none given and none seen by NVML; give --gpus N --gpu-memory 80")
        return result

    mem = min(g.memory_total for g in gpu_list)
    usable = int(mem * memory_fraction)
    lines.append(
        f"per GPU: {fmt_gib(mem)} × {memory_fraction:g} = {fmt_gib(usable)} usable; "
        f"reserve {fmt_gib(reserve_bytes)} ({RESERVE_NOTE})"
    )
    tp = 1
    while tp <= len(gpu_list):
        result.options.append(_option(shape, weights, kv_b, usable, reserve_bytes, tp, ctx))
        tp *= 2
    for o in result.options:
        lines.append(f"TP={o.tp}: {o.reason}")
        if o.fits and result.tp is None:
            result.tp = o.tp
    lines.append(result.verdict)
    return result


def _option(
    shape: ModelShape,
    weights: int,
    kv_b: float,
    usable: int,
    reserve: int,
    tp: int,
    ctx: int | None,
) -> TpOption:
    per_tok, _ = kv_bytes_per_token(shape, kv_b, tp)
    w = math.ceil(weights / tp)
    budget = usable - w - reserve
    tokens = max(0, budget) // per_tok if per_tok else 0
    if shape.heads % tp:
        return TpOption(
            tp, w, budget, per_tok, 0, False, f"{shape.heads} attention heads not divisible by {tp}"
        )
    head = f"weights {fmt_gib(weights)} / {tp} = {fmt_gib(w)}; KV budget {fmt_gib(usable)} − {fmt_gib(w)} − {fmt_gib(reserve)} = {fmt_gib(budget)}"
    if budget <= 0:
        return TpOption(tp, w, budget, per_tok, 0, False, f"{head}: weights do not fit")
    tok_txt = f"{fmt_gib(budget)} / {per_tok:,} B per token per GPU = {tokens:,} tokens"
    if ctx and tokens < ctx:
        return TpOption(
            tp,
            w,
            budget,
            per_tok,
            tokens,
            False,
            f"{head}; {tok_txt} < {ctx:,} context: too small for one full sequence",
        )
    return TpOption(tp, w, budget, per_tok, tokens, True, f"{head}; {tok_txt}")
