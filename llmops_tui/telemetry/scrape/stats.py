"""What a scrape yields: ``EngineStats`` per engine, ``RankStats`` per rank, and their labels."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from llmops_tui.telemetry.scrape.histogram import Hist

ENGINE_LABELS = {"vllm": "vLLM", "sglang": "SGLang", "tgi": "TGI"}
KV_LABEL = "KV cache"
TGI_BUDGET_LABEL = "token budget (TGI has no KV gauge)"


# -- result types -------------------------------------------------------------
@dataclass
class RankStats:
    """One data-parallel rank (label ``engine`` in vLLM, ``dp_rank`` in SGLang)."""

    rank: str
    kv_cache_usage: float | None = None
    running: float | None = None
    waiting: float | None = None
    kv_capacity_tokens: int | None = None
    prompt_tps: float | None = None
    gen_tps: float | None = None


@dataclass
class EngineStats:
    name: str
    engine: str  # vllm | sglang | tgi | auto (not yet detected)
    url: str
    error: str | None = None
    model_name: str | None = None
    kv_cache_usage: float | None = None  # 0–1
    kv_usage_label: str = KV_LABEL
    kv_capacity_tokens: int | None = None
    running: float | None = None
    waiting: float | None = None
    prefix_hit_rate: float | None = None  # 0–1
    prompt_tps: float | None = None
    gen_tps: float | None = None
    preemptions: float | None = None  # cumulative count
    # cumulative counters, all ranks together (a load test takes their differences)
    prompt_tokens_total: float | None = None
    gen_tokens_total: float | None = None
    prefix_hits_total: float | None = None  # tokens (SGLang: cached prompt tokens)
    prefix_queries_total: float | None = None
    # the engine's own latency histograms (cumulative) and their mean over the last interval
    ttft_hist: Hist | None = None
    itl_hist: Hist | None = None
    server_ttft_ms: float | None = None
    server_itl_ms: float | None = None
    ranks: list[RankStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Asleep (sleep mode): vLLM's vllm:engine_sleep_state ("weights_offloaded", "discard_all"),
    # or "asleep" from the supervisor's record (SGLang has no such metric); None: awake.
    sleep_state: str | None = None
    scrape_ms: float | None = None
    taken_at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out
