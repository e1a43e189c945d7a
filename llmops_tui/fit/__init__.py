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

Modules: ``units`` (dtype bytes, reserve, formatting), ``shape`` (config.json → shape,
parameter estimate), ``weights`` (weight format, KV dtype), ``gpus``, ``estimate``
(the estimate itself). The public names are re-exported here.
"""

from __future__ import annotations

from llmops_tui.fit.estimate import FitResult, TpOption, estimate_fit, kv_bytes_per_token
from llmops_tui.fit.gpus import Gpu, gpus_given, read_nvml_gpus
from llmops_tui.fit.shape import (
    ModelShape,
    ParamEstimate,
    estimate_params,
    first_of,
    shape_from_config,
    text_config,
)
from llmops_tui.fit.units import (
    DEFAULT_RESERVE_BYTES,
    DTYPE_BYTES,
    GIB,
    RESERVE_NOTE,
    FitError,
    fmt_bytes_per,
    fmt_count,
    fmt_gib,
)
from llmops_tui.fit.weights import WeightFormat, kv_dtype_bytes, weight_format

__all__ = [
    "DEFAULT_RESERVE_BYTES",
    "DTYPE_BYTES",
    "GIB",
    "RESERVE_NOTE",
    "FitError",
    "FitResult",
    "Gpu",
    "ModelShape",
    "ParamEstimate",
    "TpOption",
    "WeightFormat",
    "estimate_fit",
    "estimate_params",
    "first_of",
    "fmt_bytes_per",
    "fmt_count",
    "fmt_gib",
    "gpus_given",
    "kv_bytes_per_token",
    "kv_dtype_bytes",
    "read_nvml_gpus",
    "shape_from_config",
    "text_config",
    "weight_format",
]
