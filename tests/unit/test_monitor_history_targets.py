"""History ring buffers, --url parsing, pid owners, the sampler's record of a tick."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from llmops_tui.telemetry.gpu import GpuInfo, GpuSnapshot
from llmops_tui.telemetry.history import History, Series
from llmops_tui.telemetry.monitor import MonitorSampler, run_monitor_loop
from llmops_tui.telemetry.scrape.stats import EngineStats
from llmops_tui.telemetry.targets import EngineTarget, parse_url_option, pid_owners


def test_series_keeps_the_last_n_and_fills_gaps():
    s = Series(maxlen=3)
    for v in (1.0, None, 3.0, 4.0):
        s.add(v)
    assert s.values() == [None, 3.0, 4.0]
    assert s.last(fill=-1) == [-1, 3.0, 4.0]
    assert s.last(2) == [3.0, 4.0]
    assert len(s) == 3


def test_history_ten_minutes_at_one_hertz_by_default_and_retain():
    h = History()
    for i in range(700):
        h.add("gpu0.mem", float(i))
        h.add("engine:a.kv", 1.0)
    assert len(h.series("gpu0.mem")) == 600
    assert h.series("gpu0.mem").values()[0] == 100.0
    h.retain(["gpu0."])
    assert h.keys() == ["gpu0.mem"]
    assert len(h.series("missing")) == 0


@pytest.mark.parametrize(
    ("value", "name", "engine", "url"),
    [
        ("a=http://127.0.0.1:8000", "a", "auto", "http://127.0.0.1:8000/metrics"),
        ("b=http://h:1/metrics", "b", "auto", "http://h:1/metrics"),
        ("c=sglang@http://h:30000/", "c", "sglang", "http://h:30000/metrics"),
    ],
)
def test_url_option(value, name, engine, url):
    t = parse_url_option(value)
    assert (t.name, t.engine, t.metrics_url) == (name, engine, url)
    assert t.base_url == url.rsplit("/metrics", 1)[0]


@pytest.mark.parametrize("value", ["noequals", "=http://h:1", "a=", "a=ftp://h", "a=localhost:80"])
def test_url_option_errors_say_what_is_expected(value):
    with pytest.raises(ValueError, match=r"--url .*(NAME=URL|http)"):
        parse_url_option(value)


def test_pid_owners_and_target_pids_frozen():
    a = EngineTarget("a", "vllm", "http://h:1/metrics", {1, 2})
    b = EngineTarget("b", "tgi", "http://h:2/metrics", [3])
    assert isinstance(b.pids, frozenset)
    assert pid_owners([a, b]) == {1: "a", 2: "a", 3: "b"}


class FakeGpus:
    def __init__(self):
        self.owners_seen = []

    def read(self, owners):
        self.owners_seen.append(dict(owners))
        return GpuSnapshot(
            available=True,
            gpus=[GpuInfo(0, "H100", memory_used=40, memory_total=80, util_percent=50.0)],
        )


class FakeScraper:
    async def scrape_all(self, targets):
        return [EngineStats(t.name, "vllm", t.metrics_url, kv_cache_usage=0.5) for t in targets]

    async def aclose(self):
        pass


class FakeHost:
    def read(self):
        from llmops_tui.telemetry.host import HostSnapshot

        return HostSnapshot(10.0, 2, None, 1, 4)


def test_sampler_records_history_and_passes_pid_owners():
    gpus = FakeGpus()
    targets = [EngineTarget("llama", "vllm", "http://h:1/metrics", {42})]
    sampler = MonitorSampler(lambda: targets, gpus, FakeHost(), FakeScraper())
    snap = asyncio.run(sampler.sample())
    assert gpus.owners_seen == [{42: "llama"}]
    assert sampler.history.series("gpu0.mem").values() == [50.0]
    assert sampler.history.series("engine:llama.kv").values() == [50.0]
    assert sampler.history.series("host.cpu").values() == [10.0]
    json.dumps(snap.to_dict())


def test_monitor_loop_ticks_and_stops():
    sampler = MonitorSampler(lambda: [], FakeGpus(), FakeHost(), FakeScraper())
    stop = threading.Event()
    seen = []

    def on_sample(snap):
        seen.append(snap)
        if len(seen) == 3:
            stop.set()

    asyncio.run(run_monitor_loop(sampler, on_sample, stop, interval_s=0.05))
    assert len(seen) == 3
