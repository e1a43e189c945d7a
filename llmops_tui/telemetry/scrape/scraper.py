"""Scraping engines' ``/metrics`` over HTTP; nothing raises out of ``MetricsScraper.scrape``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from llmops_tui.telemetry.scrape.engine_maps import WANTED, stats_from_text
from llmops_tui.telemetry.scrape.samples import CounterRates, SeriesCache, detect_engine
from llmops_tui.telemetry.scrape.stats import EngineStats
from llmops_tui.telemetry.targets import EngineTarget


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
