""" "Will it fit?": weight memory, KV-cache bytes per token, tensor-parallel size.

Everything here is arithmetic on a model's ``config.json`` (and, when known,
the parameter count from its safetensors metadata). Each result carries the
arithmetic as human-readable lines so a user can check it.

Formulas (dense decoder, Llama-style; MoE adds experts):

- parameters (when not given by safetensors metadata)::

    embeddings  = vocab × hidden        (× 2 when lm_head is not tied)
    attention   = hidden × heads × head_dim            (q)
                + 2 × hidden × kv_heads × head_dim     (k, v)
                + heads × head_dim × hidden            (o)
    mlp         = 3 × hidden × intermediate            (gate, up, down)
    moe         = experts × 3 × hidden × moe_intermediate + hidden × experts (router)
    norms       = 2 × hidden per layer + hidden (final)

- weights = quantized params × bytes per quantized param
          + unquantized params (embeddings, lm_head, norms) × dtype bytes
- KV bytes per token = 2 (K and V) × layers × kv_heads × head_dim × kv dtype bytes
  (MLA models such as DeepSeek-V3 store one latent: layers × (kv_lora_rank + rope dim) × bytes)
- per GPU at tensor-parallel size t: weights / t; each GPU holds kv_heads / t KV heads
  (at least one: vLLM replicates KV heads when t > kv_heads);
  KV budget = memory × fraction − weights / t − reserve; KV tokens = budget / per-GPU bytes per token.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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


def _fmt_count(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} B"
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n:,.0f}"


def fmt_gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def _fmt_bytes_per(b: float) -> str:
    return f"{b:g} B" if b == int(b) else f"{b:.3f} B"


# ---------------------------------------------------------------------------
# Model shape from config.json


@dataclass(frozen=True)
class ModelShape:
    model_type: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    head_dim_explicit: bool
    vocab: int
    intermediate: int
    tied_embeddings: bool
    experts: int = 0
    experts_per_token: int = 0
    moe_intermediate: int = 0
    shared_expert_intermediate: int = 0
    attention_bias: bool = False
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    max_positions: int | None = None
    torch_dtype: str | None = None

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0


def _first(cfg: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        if n in cfg and cfg[n] is not None:
            return cfg[n]
    return None


def _need_int(cfg: Mapping[str, Any], names: tuple[str, ...], what: str) -> int:
    v = _first(cfg, *names)
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        got = "missing" if v is None else f"got {v!r}"
        raise FitError(f"config.json: {names[0]} ({what}) {got}; expected a positive integer")
    return v


def text_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """The language-model part of a config (multimodal configs nest it in text_config)."""
    inner = config.get("text_config") or config.get("llm_config")
    if isinstance(inner, Mapping) and "num_hidden_layers" in inner:
        merged = dict(inner)
        for k in ("quantization_config", "torch_dtype", "dtype", "tie_word_embeddings"):
            if k not in merged and k in config:
                merged[k] = config[k]
        return merged
    return config


def shape_from_config(config: Mapping[str, Any]) -> ModelShape:
    cfg = text_config(config)
    layers = _need_int(cfg, ("num_hidden_layers", "n_layer", "num_layers"), "layers")
    hidden = _need_int(cfg, ("hidden_size", "n_embd", "d_model"), "hidden size")
    heads = _need_int(cfg, ("num_attention_heads", "n_head"), "attention heads")
    kv_heads = _first(cfg, "num_key_value_heads", "num_kv_heads", "multi_query_group_num")
    if kv_heads is None:
        kv_heads = 1 if cfg.get("multi_query") else heads
    head_dim = _first(cfg, "head_dim")
    explicit = isinstance(head_dim, int) and head_dim > 0
    if not explicit:
        if hidden % heads:
            raise FitError(
                f"config.json: hidden_size {hidden} is not a multiple of num_attention_heads "
                f"{heads} and head_dim is not given"
            )
        head_dim = hidden // heads
    vocab = _need_int(cfg, ("vocab_size", "padded_vocab_size"), "vocabulary size")
    intermediate = _first(cfg, "intermediate_size", "n_inner", "ffn_hidden_size") or 4 * hidden
    experts = _first(cfg, "num_local_experts", "num_experts", "n_routed_experts") or 0
    per_tok = _first(cfg, "num_experts_per_tok", "num_experts_per_token", "moe_topk") or 0
    moe_inter = _first(cfg, "moe_intermediate_size") or (intermediate if experts else 0)
    shared = _first(cfg, "shared_expert_intermediate_size") or 0
    if not shared and cfg.get("n_shared_experts"):
        shared = int(cfg["n_shared_experts"]) * moe_inter
    model_type = str(cfg.get("model_type") or config.get("model_type") or "unknown")
    bias = bool(cfg.get("attention_bias")) or model_type in ("qwen2", "qwen2_moe")
    dtype = _first(cfg, "torch_dtype", "dtype")
    return ModelShape(
        model_type=model_type,
        layers=layers,
        hidden=hidden,
        heads=heads,
        kv_heads=int(kv_heads),
        head_dim=int(head_dim),
        head_dim_explicit=explicit,
        vocab=vocab,
        intermediate=int(intermediate),
        tied_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        experts=int(experts),
        experts_per_token=int(per_tok),
        moe_intermediate=int(moe_inter),
        shared_expert_intermediate=int(shared),
        attention_bias=bias,
        kv_lora_rank=int(cfg.get("kv_lora_rank") or 0),
        qk_rope_head_dim=int(cfg.get("qk_rope_head_dim") or 0),
        max_positions=_first(cfg, "max_position_embeddings", "n_positions", "seq_length"),
        torch_dtype=str(dtype) if dtype else None,
    )


@dataclass(frozen=True)
class ParamEstimate:
    total: int
    embeddings: int  # embed_tokens + untied lm_head
    norms: int
    layer_linear: int  # attention + MLP/experts: what quantization applies to

    @property
    def unquantized(self) -> int:
        return self.embeddings + self.norms


def estimate_params(shape: ModelShape) -> ParamEstimate:
    """Parameters from the shape (see the module docstring for the formula)."""
    h, hd = shape.hidden, shape.head_dim
    emb = shape.vocab * h * (1 if shape.tied_embeddings else 2)
    attn = h * shape.heads * hd + 2 * h * shape.kv_heads * hd + shape.heads * hd * h
    if shape.attention_bias:
        attn += shape.heads * hd + 2 * shape.kv_heads * hd
    if shape.is_moe:
        mlp = shape.experts * 3 * h * shape.moe_intermediate + h * shape.experts
        mlp += 3 * h * shape.shared_expert_intermediate
    else:
        mlp = 3 * h * shape.intermediate
    norms = 2 * h * shape.layers + h
    linear = (attn + mlp) * shape.layers
    return ParamEstimate(
        total=emb + norms + linear, embeddings=emb, norms=norms, layer_linear=linear
    )


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
    base_name, base_bytes = _dtype_name(dtype_override or _first(cfg, "torch_dtype", "dtype"))
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


# ---------------------------------------------------------------------------
# GPUs


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_total: int  # bytes


def gpus_given(count: int, memory_bytes: int, name: str = "GPU") -> list[Gpu]:
    return [Gpu(i, name, memory_bytes) for i in range(count)]


def read_nvml_gpus() -> list[Gpu]:
    """GPUs seen by NVML ([] when there is no NVIDIA driver)."""
    from llmops_tui.telemetry.gpu import gpu_memory_totals

    return [Gpu(index, name, total) for index, name, total in gpu_memory_totals()]


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
            f"{shape.qk_rope_head_dim} rope dim) × {_fmt_bytes_per(kv_bytes)} (MLA latent, "
            f"replicated on every GPU) = {total:,} B"
        )
    heads = max(1, math.ceil(shape.kv_heads / tp))
    total = int(2 * shape.layers * heads * shape.head_dim * kv_bytes)
    hd_src = "head_dim" if shape.head_dim_explicit else f"{shape.hidden}/{shape.heads}"
    heads_txt = f"{heads} KV heads" if tp == 1 else f"{heads} KV heads per GPU"
    return total, (
        f"2 × {shape.layers} layers × {heads_txt} × {shape.head_dim} ({hd_src}) × "
        f"{_fmt_bytes_per(kv_bytes)} = {total:,} B"
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
            f"params: {_fmt_count(est.total)} estimated from config.json "
            f"(the {params_source} count, {_fmt_count(params)}, counts packed {fmt.name} "
            "elements, not parameters)"
        )
        params, params_source = None, "config.json estimate"
    if params:
        total = int(params)
        lines.append(f"params: {_fmt_count(total)} ({params_source})")
    else:
        total = est.total
        params_source = "config.json estimate"
        if not lines:
            kind = f"MoE, {shape.experts} experts" if shape.is_moe else "dense"
            lines.append(
                f"params: {_fmt_count(total)} estimated from config.json ({kind}, "
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
            f"weights: {_fmt_count(q)} quantized params × {_fmt_bytes_per(fmt.quantized_bytes)} "
            f"({fmt.name}){note} + {_fmt_count(unq)} embedding/norm params × "
            f"{_fmt_bytes_per(fmt.base_bytes)} ({fmt.base_name}) = {fmt_gib(weights)}"
        )
    else:
        weights = int(total * fmt.base_bytes)
        note = f" [{fmt.note}]" if fmt.note else ""
        lines.append(
            f"weights: {_fmt_count(total)} params × {_fmt_bytes_per(fmt.base_bytes)} "
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
