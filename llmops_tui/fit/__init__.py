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
(the estimate itself).

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
