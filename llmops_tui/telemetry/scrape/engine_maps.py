"""Per-engine metric maps (vLLM, SGLang, TGI): which metrics are read, and how they
become one ``EngineStats``."""

from __future__ import annotations

import time
from collections.abc import Sequence

from llmops_tui.telemetry.scrape.histogram import HISTOGRAMS, read_hist, wanted_lines
from llmops_tui.telemetry.scrape.samples import (
    CounterRates,
    Samples,
    SeriesCache,
    by_rank,
    combine,
    detect_engine,
    parse_samples,
)
from llmops_tui.telemetry.scrape.stats import (
    ENGINE_LABELS,
    TGI_BUDGET_LABEL,
    EngineStats,
    RankStats,
)
from llmops_tui.telemetry.targets import EngineTarget

# -- engine mappings ----------------------------------------------------------
VLLM_WANTED = frozenset(
    {
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
        "vllm:prefix_cache_hits_total",
        "vllm:prefix_cache_queries_total",
        "vllm:gpu_prefix_cache_hits_total",
        "vllm:gpu_prefix_cache_queries_total",
        "vllm:num_preemptions_total",
        "vllm:cache_config_info",
        "vllm:engine_sleep_state",
    }
) | wanted_lines("vllm")
SGLANG_WANTED = frozenset(
    {
        "sglang:token_usage",
        "sglang:num_running_reqs",
        "sglang:num_queue_reqs",
        "sglang:gen_throughput",
        "sglang:cache_hit_rate",
        "sglang:max_total_num_tokens",
        "sglang:prompt_tokens_total",
        "sglang:generation_tokens_total",
        "sglang:cached_tokens_total",
        "sglang:num_retracted_requests_total",
    }
) | wanted_lines("sglang")
TGI_WANTED = frozenset(
    {
        "tgi_batch_current_size",
        "tgi_queue_size",
        "tgi_batch_current_max_tokens",
        "tgi_batch_max_total_tokens",
        "tgi_request_input_length_sum",
        "tgi_request_generated_tokens_sum",
        "tgi_request_count",
    }
)
WANTED = {"vllm": VLLM_WANTED, "sglang": SGLANG_WANTED, "tgi": TGI_WANTED}
RANK_LABEL = {"vllm": "engine", "sglang": "dp_rank", "tgi": None}


def _model_name(samples: Samples, *names: str) -> str | None:
    for name in names:
        for labels, _ in samples.get(name):
            if labels.get("model_name"):
                return labels["model_name"]
    return None


def _int_label(labels: dict[str, str], key: str) -> int | None:
    try:
        return int(float(labels[key]))
    except (KeyError, ValueError):
        return None


def vllm_capacity(samples: Samples) -> dict[str, int]:
    """KV capacity in tokens per rank from ``vllm:cache_config_info`` labels."""
    out: dict[str, int] = {}
    for labels, _ in samples.get("vllm:cache_config_info"):
        tokens = _int_label(labels, "kv_cache_size_tokens")
        if tokens is None:
            blocks, size = _int_label(labels, "num_gpu_blocks"), _int_label(labels, "block_size")
            tokens = blocks * size if blocks is not None and size is not None else None
        if tokens is not None:
            key = f"engine={labels['engine']}" if "engine" in labels else ""
            out[key] = tokens
    return out


class _Builder:
    """Fills an EngineStats from one engine's samples; helper for the mappers."""

    def __init__(self, stats: EngineStats, samples: Samples, rates: CounterRates, now: float):
        self.stats, self.samples, self.rates, self.now = stats, samples, rates, now
        self.rank_label = RANK_LABEL.get(stats.engine)
        self.ranks: dict[str, RankStats] = {}

    def rank(self, key: str) -> RankStats:
        if key not in self.ranks:
            self.ranks[key] = RankStats(rank=key)
        return self.ranks[key]

    def gauge(self, names: Sequence[str], how: str, attr: str | None = None) -> float | None:
        per_rank = by_rank(self.samples.get(*names), self.rank_label, "mean")
        if attr:
            for key, value in per_rank.items():
                setattr(self.rank(key), attr, value)
        return combine(per_rank, how)

    def counter_rate(self, names: Sequence[str], attr: str | None = None) -> float | None:
        per_rank = by_rank(self.samples.get(*names), self.rank_label, "sum")
        total_rate: float | None = None
        for key, value in per_rank.items():
            r = self.rates.rate((self.stats.name, names[0], key), value, self.now)
            if r is None:
                continue
            if attr:
                setattr(self.rank(key), attr, r)
            total_rate = (total_rate or 0.0) + r
        return total_rate

    def counter_total(self, names: Sequence[str]) -> float | None:
        return combine(by_rank(self.samples.get(*names), None, "sum"), "sum")

    def total_rate(self, names: Sequence[str]) -> float | None:
        """Rate of a counter summed over every label (all ranks together)."""
        total = self.counter_total(names)
        if total is None:
            return None
        return self.rates.rate((self.stats.name, "all:" + names[0]), total, self.now)

    def histograms(self) -> None:
        """The engine's own TTFT/ITL histograms: totals, and the mean over the last interval."""
        st = self.stats
        for kind, names in HISTOGRAMS.get(st.engine, {}).items():
            hist = read_hist(self.samples, names)
            if hist is None:
                continue
            setattr(st, f"{kind}_hist", hist)
            key = (st.name, "hist:" + kind)
            r_sum = self.rates.rate((*key, "sum"), hist.sum, self.now)
            r_count = self.rates.rate((*key, "count"), hist.count, self.now)
            if r_sum is not None and r_count:
                setattr(st, f"server_{kind}_ms", r_sum / r_count * 1e3)

    def finish(self) -> None:
        labelled = sorted(k for k in self.ranks if k)
        if len(labelled) > 1:  # one rank is the engine itself: no per-rank rows
            self.stats.ranks = [self.ranks[k] for k in labelled]


def _hit_rate(
    b: _Builder, hits: Sequence[str], queries: Sequence[str]
) -> tuple[float | None, bool]:
    """(hit rate over the last interval, or lifetime when idle; whether it is lifetime)."""
    h_rate, q_rate = b.counter_rate(hits), b.counter_rate(queries)
    if h_rate is not None and q_rate:
        return min(max(h_rate / q_rate, 0.0), 1.0), False
    h_total, q_total = b.counter_total(hits), b.counter_total(queries)
    if h_total is not None and q_total:
        return min(max(h_total / q_total, 0.0), 1.0), True
    return None, False


def map_vllm(b: _Builder) -> None:
    s, st = b.samples, b.stats
    st.model_name = _model_name(s, "vllm:num_requests_running", "vllm:prompt_tokens_total")
    st.kv_cache_usage = b.gauge(
        ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"), "mean", "kv_cache_usage"
    )
    st.running = b.gauge(("vllm:num_requests_running",), "sum", "running")
    st.waiting = b.gauge(("vllm:num_requests_waiting",), "sum", "waiting")
    st.prompt_tps = b.counter_rate(("vllm:prompt_tokens_total",), "prompt_tps")
    st.gen_tps = b.counter_rate(("vllm:generation_tokens_total",), "gen_tps")
    st.prefix_hit_rate, lifetime = _hit_rate(
        b,
        ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total"),
        ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total"),
    )
    if lifetime:
        st.notes.append("prefix hit rate since start (no new queries)")
    st.preemptions = b.counter_total(("vllm:num_preemptions_total",))
    st.prompt_tokens_total = b.counter_total(("vllm:prompt_tokens_total",))
    st.gen_tokens_total = b.counter_total(("vllm:generation_tokens_total",))
    st.prefix_hits_total = b.counter_total(
        ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total")
    )
    st.prefix_queries_total = b.counter_total(
        ("vllm:prefix_cache_queries_total", "vllm:gpu_prefix_cache_queries_total")
    )
    capacity = vllm_capacity(s)
    for key, tokens in capacity.items():
        b.rank(key).kv_capacity_tokens = tokens
    st.kv_capacity_tokens = sum(capacity.values()) if capacity else None
    if "vllm:kv_cache_usage_perc" not in s and "vllm:gpu_cache_usage_perc" in s:
        st.notes.append("older vLLM: vllm:gpu_cache_usage_perc")
    for labels, value in s.get("vllm:engine_sleep_state"):
        state = labels.get("sleep_state")
        if state and state != "awake" and value >= 1:
            st.sleep_state = state  # weights_offloaded (level 1) or discard_all (level 2)


def map_sglang(b: _Builder) -> None:
    s, st = b.samples, b.stats
    st.model_name = _model_name(s, "sglang:num_running_reqs", "sglang:prompt_tokens_total")
    st.kv_cache_usage = b.gauge(("sglang:token_usage",), "mean", "kv_cache_usage")
    st.running = b.gauge(("sglang:num_running_reqs",), "sum", "running")
    st.waiting = b.gauge(("sglang:num_queue_reqs",), "sum", "waiting")
    capacity = b.gauge(("sglang:max_total_num_tokens",), "sum", None)
    per_rank_cap = by_rank(s.get("sglang:max_total_num_tokens"), b.rank_label, "mean")
    for key, tokens in per_rank_cap.items():
        b.rank(key).kv_capacity_tokens = int(tokens)
    st.kv_capacity_tokens = int(capacity) if capacity else None
    st.prompt_tps = b.counter_rate(("sglang:prompt_tokens_total",), "prompt_tps")
    # The engine's own decode throughput gauge is live; the generation counter moves
    # only when requests finish. Prefer the gauge, fall back to the counter.
    gen_gauge = b.gauge(("sglang:gen_throughput",), "sum", "gen_tps")
    gen_counter = b.counter_rate(("sglang:generation_tokens_total",))
    st.gen_tps = gen_gauge if gen_gauge is not None else gen_counter
    cached, prompt = (
        b.total_rate(("sglang:cached_tokens_total",)),
        b.total_rate(("sglang:prompt_tokens_total",)),
    )
    if cached is not None and prompt:
        st.prefix_hit_rate = min(max(cached / prompt, 0.0), 1.0)
    else:
        st.prefix_hit_rate = b.gauge(("sglang:cache_hit_rate",), "mean", None)
    st.preemptions = b.counter_total(("sglang:num_retracted_requests_total",))
    st.prompt_tokens_total = b.counter_total(("sglang:prompt_tokens_total",))
    st.gen_tokens_total = b.counter_total(("sglang:generation_tokens_total",))
    st.prefix_hits_total = b.counter_total(("sglang:cached_tokens_total",))
    st.prefix_queries_total = st.prompt_tokens_total


def map_tgi(b: _Builder, info_budget: int | None) -> None:
    s, st = b.samples, b.stats
    st.kv_usage_label = TGI_BUDGET_LABEL
    st.running = b.gauge(("tgi_batch_current_size",), "sum")
    st.waiting = b.gauge(("tgi_queue_size",), "sum")
    budget = b.gauge(("tgi_batch_max_total_tokens",), "sum") or info_budget
    used = b.gauge(("tgi_batch_current_max_tokens",), "sum")
    st.kv_capacity_tokens = int(budget) if budget else None
    if budget and used is not None:
        st.kv_cache_usage = min(used / budget, 1.0)
    elif used is not None:
        st.notes.append("token budget unknown (no tgi_batch_max_total_tokens, no /info)")
    st.prompt_tps = b.counter_rate(("tgi_request_input_length_sum",))
    st.gen_tps = b.counter_rate(("tgi_request_generated_tokens_sum",))
    st.prompt_tokens_total = b.counter_total(("tgi_request_input_length_sum",))
    st.gen_tokens_total = b.counter_total(("tgi_request_generated_tokens_sum",))
    st.notes.append("tok/s counted when requests finish")
    del s


def stats_from_text(
    target: EngineTarget,
    text: str,
    rates: CounterRates,
    now: float | None = None,
    engine: str | None = None,
    tgi_info_budget: int | None = None,
    series_cache: SeriesCache | None = None,
) -> EngineStats:
    """Normalise one scrape's text. Raises nothing: problems go in ``error``."""
    now = time.monotonic() if now is None else now
    engine = engine or (target.engine if target.engine in WANTED else detect_engine(text))
    stats = EngineStats(name=target.name, engine=engine or target.engine, url=target.metrics_url)
    if engine is None:
        stats.error = f"no vLLM, SGLang or TGI metrics at {target.metrics_url}"
        return stats
    try:
        samples = parse_samples(text, WANTED[engine], series_cache)
    except ValueError as exc:
        stats.error = f"malformed metrics at {target.metrics_url}: {exc}"
        return stats
    if not samples.by_name:
        hint = " (SGLang serves metrics only with --enable-metrics)" if engine == "sglang" else ""
        stats.error = (
            f"no {ENGINE_LABELS[engine]} metrics at {target.metrics_url}{hint}; "
            f"is this a {ENGINE_LABELS[engine]} server?"
        )
        return stats
    b = _Builder(stats, samples, rates, now)
    if engine == "vllm":
        map_vllm(b)
    elif engine == "sglang":
        map_sglang(b)
    else:
        map_tgi(b, tgi_info_budget)
    b.histograms()
    b.finish()
    if stats.sleep_state is None and target.asleep:
        stats.sleep_state = "asleep"
    return stats
