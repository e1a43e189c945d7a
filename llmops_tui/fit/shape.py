"""A model's shape from its ``config.json``, and its parameter count estimated from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmops_tui.fit.units import FitError

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


def first_of(cfg: Mapping[str, Any], *names: str) -> Any:
    for n in names:
        if n in cfg and cfg[n] is not None:
            return cfg[n]
    return None


def _need_int(cfg: Mapping[str, Any], names: tuple[str, ...], what: str) -> int:
    v = first_of(cfg, *names)
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
    kv_heads = first_of(cfg, "num_key_value_heads", "num_kv_heads", "multi_query_group_num")
    if kv_heads is None:
        kv_heads = 1 if cfg.get("multi_query") else heads
    head_dim = first_of(cfg, "head_dim")
    explicit = isinstance(head_dim, int) and head_dim > 0
    if not explicit:
        if hidden % heads:
            raise FitError(
                f"config.json: hidden_size {hidden} is not a multiple of num_attention_heads "
                f"{heads} and head_dim is not given"
            )
        head_dim = hidden // heads
    vocab = _need_int(cfg, ("vocab_size", "padded_vocab_size"), "vocabulary size")
    intermediate = first_of(cfg, "intermediate_size", "n_inner", "ffn_hidden_size") or 4 * hidden
    experts = first_of(cfg, "num_local_experts", "num_experts", "n_routed_experts") or 0
    per_tok = first_of(cfg, "num_experts_per_tok", "num_experts_per_token", "moe_topk") or 0
    moe_inter = first_of(cfg, "moe_intermediate_size") or (intermediate if experts else 0)
    shared = first_of(cfg, "shared_expert_intermediate_size") or 0
    if not shared and cfg.get("n_shared_experts"):
        shared = int(cfg["n_shared_experts"]) * moe_inter
    model_type = str(cfg.get("model_type") or config.get("model_type") or "unknown")
    bias = bool(cfg.get("attention_bias")) or model_type in ("qwen2", "qwen2_moe")
    dtype = first_of(cfg, "torch_dtype", "dtype")
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
        max_positions=first_of(cfg, "max_position_embeddings", "n_positions", "seq_length"),
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
