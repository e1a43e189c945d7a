"""Engine Prometheus metrics → one ``EngineStats`` per engine.

Metric names per engine come from the engines' own sources
(``/work/shared/reference/engines.md``; fixtures in ``tests/fixtures/metrics``):

- vLLM: ``vllm:kv_cache_usage_perc`` (older ``vllm:gpu_cache_usage_perc``),
  ``vllm:num_requests_running|waiting``, ``vllm:prompt_tokens_total``,
  ``vllm:generation_tokens_total``, ``vllm:prefix_cache_hits_total`` /
  ``vllm:prefix_cache_queries_total`` (older ``vllm:gpu_prefix_cache_*``),
  ``vllm:num_preemptions_total``, ``vllm:cache_config_info`` (labels
  ``kv_cache_size_tokens`` or ``num_gpu_blocks`` × ``block_size``). Ranks: label ``engine``.
- SGLang (needs ``--enable-metrics``): ``sglang:token_usage``, ``sglang:num_running_reqs``,
  ``sglang:num_queue_reqs``, ``sglang:gen_throughput``, ``sglang:cache_hit_rate``,
  ``sglang:max_total_num_tokens``, counters ``sglang:prompt_tokens_total``,
  ``sglang:generation_tokens_total``, ``sglang:cached_tokens_total``,
  ``sglang:num_retracted_requests_total``. Ranks: label ``dp_rank``.
- TGI: ``tgi_batch_current_size``, ``tgi_queue_size``, ``tgi_batch_current_max_tokens``
  against ``tgi_batch_max_total_tokens`` (or ``max_batch_total_tokens`` from ``/info`` on
  older TGI): a *token-budget occupancy*, not a KV-cache gauge (TGI has none).
  Token rates come from the ``_sum`` of ``tgi_request_input_length`` and
  ``tgi_request_generated_tokens``, which move only when requests finish.

Only the lines of the metrics we use are handed to ``prometheus_client``'s text
parser (a vLLM page is ~600 lines, mostly histogram buckets: parsing all of it
costs ~10 ms; the selected lines ~0.6 ms), and each series (``name{labels}``) only
the first time it is seen (``SeriesCache``): later scrapes convert the value alone.

Rates are counter deltas between two scrapes of the same engine, robust to
counter resets (an engine restart): a counter that went down restarted from 0.
Nothing raises out of ``MetricsScraper.scrape``: failures are ``EngineStats.error``.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from llmops_tui.telemetry.targets import EngineTarget

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
    ranks: list[RankStats] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scrape_ms: float | None = None
    taken_at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


# -- samples ------------------------------------------------------------------
Sample = tuple[dict[str, str], float]


class Samples:
    """Selected samples of one scrape, by exact sample name."""

    def __init__(self, by_name: dict[str, list[Sample]]) -> None:
        self.by_name = by_name

    def get(self, *names: str) -> list[Sample]:
        """Samples of the first name present (for renamed metrics across versions)."""
        for name in names:
            found = self.by_name.get(name)
            if found:
                return found
        return []

    def __contains__(self, name: str) -> bool:
        return bool(self.by_name.get(name))


def select_lines(text: str, wanted: frozenset[str]) -> list[str]:
    """Sample lines whose metric name is in ``wanted`` (comments and the rest dropped)."""
    keep = []
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        cut = line.find("{")
        if cut < 0:
            cut = line.find(" ")
        if line[:cut] in wanted:
            keep.append(line)
    return keep


class SeriesCache:
    """Parsed ``name{labels}`` per series text, so that a series seen before costs a float().

    Label sets are stable across scrapes (only values move), and label parsing is most
    of the text parser's time (``vllm:cache_config_info`` has ~40 labels). A series is
    parsed by prometheus_client the first time its text is seen.
    """

    MAX_SERIES = 20_000

    def __init__(self) -> None:
        self._series: dict[str, tuple[str, dict[str, str]]] = {}

    def get(self, key: str) -> tuple[str, dict[str, str]] | None:
        return self._series.get(key)

    def put(self, key: str, name: str, labels: dict[str, str]) -> None:
        if len(self._series) >= self.MAX_SERIES:
            self._series.clear()
        self._series[key] = (name, labels)


def _split_series(line: str) -> tuple[str, str]:
    """``'name{a="b"} 1.0 123'`` → (``'name{a="b"}'``, ``'1.0'``)."""
    cut = line.rfind("}") + 1 if "{" in line else line.find(" ")
    return line[:cut], line[cut:].split()[0]


def parse_samples(text: str, wanted: frozenset[str], cache: SeriesCache | None = None) -> Samples:
    """Parse the wanted samples with prometheus_client; ValueError if malformed."""
    from prometheus_client.parser import text_string_to_metric_families

    by_name: dict[str, list[Sample]] = {}
    for line in select_lines(text, wanted):
        hit = None
        if cache is not None:
            key, raw_value = _split_series(line)
            hit = cache.get(key)
        if hit is not None:
            name, labels = hit
            by_name.setdefault(name, []).append((labels, float(raw_value)))
            continue
        for family in text_string_to_metric_families(line + "\n"):
            for s in family.samples:
                by_name.setdefault(s.name, []).append((s.labels, float(s.value)))
                if cache is not None:
                    cache.put(key, s.name, s.labels)
    return Samples(by_name)


def detect_engine(text: str) -> str | None:
    for prefix, engine in (("vllm:", "vllm"), ("sglang:", "sglang"), ("tgi_", "tgi")):
        if prefix in text:
            return engine
    return None


# -- per-rank aggregation -----------------------------------------------------
def by_rank(samples: Iterable[Sample], rank_label: str | None, within: str) -> dict[str, float]:
    """Values per rank key (``"dp_rank=1"``; ``""`` when unlabelled).

    Within one rank duplicates (other labels, e.g. SGLang TP ranks reporting the
    same gauge, or a counter split by ``cache_source``) are combined by ``within``:
    ``"sum"`` or ``"mean"``. NaN samples are ignored.
    """
    groups: dict[str, list[float]] = {}
    for labels, value in samples:
        if math.isnan(value):
            continue
        key = f"{rank_label}={labels[rank_label]}" if rank_label and rank_label in labels else ""
        groups.setdefault(key, []).append(value)
    if within == "mean":
        return {k: sum(v) / len(v) for k, v in groups.items()}
    return {k: sum(v) for k, v in groups.items()}


def combine(values: dict[str, float], how: str) -> float | None:
    if not values:
        return None
    total = sum(values.values())
    return total / len(values) if how == "mean" else total


# -- counter rates ------------------------------------------------------------
class CounterRates:
    """Per-second rates of counters from successive scrapes; resets handled."""

    MIN_INTERVAL_S = 0.05

    def __init__(self) -> None:
        self._last: dict[tuple[str, ...], tuple[float, float]] = {}

    def rate(self, key: tuple[str, ...], value: float, now: float) -> float | None:
        prev = self._last.get(key)
        if prev is not None and now - prev[1] < self.MIN_INTERVAL_S:
            return None  # too close to the previous scrape to mean anything
        self._last[key] = (value, now)
        if prev is None:
            return None
        old, then = prev
        increase = value - old if value >= old else value  # went down: restarted from 0
        return increase / (now - then)

    def forget(self, prefix: str) -> None:
        for key in [k for k in self._last if k[0] == prefix]:
            del self._last[key]


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
    }
)
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
)
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
    capacity = vllm_capacity(s)
    for key, tokens in capacity.items():
        b.rank(key).kv_capacity_tokens = tokens
    st.kv_capacity_tokens = sum(capacity.values()) if capacity else None
    if "vllm:kv_cache_usage_perc" not in s and "vllm:gpu_cache_usage_perc" in s:
        st.notes.append("older vLLM: vllm:gpu_cache_usage_perc")


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
    b.finish()
    return stats


# -- scraping -----------------------------------------------------------------
def describe_http_error(url: str, exc: BaseException) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {url}: connection refused (is the engine running?)"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer from {url} in time"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"bad metrics URL {url!r}: {exc}"
    return f"cannot read {url}: {type(exc).__name__}: {exc}"


class MetricsScraper:
    """Scrapes engines concurrently, keeping counter state between calls."""

    def __init__(self, timeout_s: float = 2.0, client: Any = None) -> None:
        self.timeout_s = timeout_s
        self._client = client
        self._own_client = client is None
        self.rates = CounterRates()
        self._detected: dict[str, str] = {}
        self._tgi_budget: dict[str, int | None] = {}
        self.series_cache = SeriesCache()

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=self.timeout_s,
                limits=httpx.Limits(max_keepalive_connections=64),
                trust_env=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._own_client:
            await self._client.aclose()
            self._client = None

    async def scrape_all(self, targets: Sequence[EngineTarget]) -> list[EngineStats]:
        if not targets:
            return []
        return list(await asyncio.gather(*(self.scrape(t) for t in targets)))

    async def scrape(self, target: EngineTarget) -> EngineStats:
        import httpx

        t0 = time.perf_counter()
        url = target.metrics_url
        try:
            resp = await self._http().get(url)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            return EngineStats(target.name, target.engine, url, describe_http_error(url, exc))
        if resp.status_code != 200:
            hint = ""
            if resp.status_code == 404 and target.engine in ("sglang", "auto"):
                hint = " (SGLang serves /metrics only with --enable-metrics)"
            return EngineStats(
                target.name, target.engine, url, f"HTTP {resp.status_code} from {url}{hint}"
            )
        now = time.monotonic()
        text = resp.text
        engine = target.engine if target.engine in WANTED else self._detected.get(target.name)
        if engine is None:
            engine = detect_engine(text)
            if engine:
                self._detected[target.name] = engine
        budget = None
        if engine == "tgi" and "tgi_batch_max_total_tokens" not in text:
            budget = await self._tgi_info_budget(target)
        stats = stats_from_text(target, text, self.rates, now, engine, budget, self.series_cache)
        stats.scrape_ms = (time.perf_counter() - t0) * 1000
        return stats

    async def _tgi_info_budget(self, target: EngineTarget) -> int | None:
        """``max_batch_total_tokens`` from TGI's ``/info`` (TGI 1.x–2.x), asked once."""
        if target.name in self._tgi_budget:
            return self._tgi_budget[target.name]
        import httpx

        value = None
        try:
            resp = await self._http().get(target.base_url + "/info")
            if resp.status_code == 200:
                raw = resp.json().get("max_batch_total_tokens")
                value = int(raw) if raw else None
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            value = None
        self._tgi_budget[target.name] = value
        return value
