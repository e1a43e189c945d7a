"""Fake sources for the Monitor tab: fixed GPUs, host and engine stats, a filled history."""

from __future__ import annotations

import math

from textual.app import App, ComposeResult

from llmops_tui.telemetry.gpu import GpuInfo, GpuProcess, GpuSnapshot
from llmops_tui.telemetry.history import History
from llmops_tui.telemetry.host import HostSnapshot
from llmops_tui.telemetry.monitor import MonitorSampler
from llmops_tui.telemetry.scrape.stats import TGI_BUDGET_LABEL, EngineStats, RankStats
from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.monitor import MonitorTab

MIB = 1024 * 1024
GIB = 1024 * MIB


def h100(index: int, used_mib: int, util: float, procs: list[GpuProcess]) -> GpuInfo:
    return GpuInfo(
        index=index,
        name="NVIDIA H100 80GB HBM3",
        uuid=f"GPU-{index}",
        memory_used=used_mib * MIB,
        memory_total=81559 * MIB,
        util_percent=util,
        memory_util_percent=util / 2,
        power_w=512.3 if util else 71.0,
        power_limit_w=700.0,
        temperature_c=61.0 if util else 33.0,
        processes=procs,
    )


FAKE_GPUS = GpuSnapshot(
    available=True,
    driver_version="570.133.20",
    gpus=[
        h100(
            0,
            74_210,
            97.0,
            [
                GpuProcess(31337, 73_000 * MIB, "compute", "VLLM::Worker_TP0", "llama70b"),
                GpuProcess(4242, 700 * MIB, "compute", "python3", None),
            ],
        ),
        h100(
            1,
            73_980,
            95.0,
            [GpuProcess(31338, 73_000 * MIB, "compute", "VLLM::Worker_TP1", "llama70b")],
        ),
    ],
)

FAKE_ENGINES = [
    EngineStats(
        "llama70b", "vllm", "http://127.0.0.1:8000/metrics", model_name="meta-llama/Llama-3.1-70B-Instruct",
        kv_cache_usage=0.412, kv_capacity_tokens=1_212_416, running=46, waiting=4,
        prefix_hit_rate=0.62, prompt_tps=4096.0, gen_tps=3536.8, preemptions=3,
    ),
    EngineStats(
        "qwen-sgl", "sglang", "http://127.0.0.1:30000/metrics", model_name="Qwen/Qwen3-8B",
        kv_cache_usage=0.39, kv_capacity_tokens=824_320, running=46, waiting=4,
        prefix_hit_rate=0.625, prompt_tps=4096.0, gen_tps=3536.75, preemptions=3,
        ranks=[
            RankStats("dp_rank=0", 0.41, 24, 3, 412_160, None, 1834.5),
            RankStats("dp_rank=1", 0.37, 22, 1, 412_160, None, 1702.25),
        ],
    ),
    EngineStats(
        "mistral-tgi", "tgi", "http://127.0.0.1:3000/metrics", kv_cache_usage=30918 / 139808,
        kv_usage_label=TGI_BUDGET_LABEL, kv_capacity_tokens=139_808, running=14, waiting=2,
        prompt_tps=3136.0, gen_tps=856.0,
    ),
    EngineStats(
        "stopped", "vllm", "http://127.0.0.1:8001/metrics",
        error="cannot connect to http://127.0.0.1:8001/metrics: connection refused (is the engine running?)",
    ),
]  # fmt: skip

NO_GPU = GpuSnapshot(
    available=False,
    reason="no NVIDIA GPU found: the NVIDIA driver library (libnvidia-ml.so) is not installed",
)
HOST = HostSnapshot(37.5, 16, (2.1, 1.9, 1.5), 41 * GIB, 125 * GIB)


class FixedGpus:
    def __init__(self, snap: GpuSnapshot) -> None:
        self.snap = snap

    def read(self, owners):
        return self.snap


class FixedHost:
    def read(self):
        return HOST


class FixedScraper:
    def __init__(self, engines: list[EngineStats]) -> None:
        self.engines = engines

    async def scrape_all(self, targets):
        return list(self.engines)

    async def aclose(self):
        pass


def filled_history(keys: list[str], points: int = 300) -> History:
    """Deterministic waves, so that sparklines have something to draw."""
    h = History()
    for i in range(points):
        for n, key in enumerate(keys):
            wave = 50 + 45 * math.sin(i / (15 + 4 * n))
            h.add(key, wave * (40 if "tps" in key else 7 if "power" in key else 1))
    return h


def sampler_factory(gpus: GpuSnapshot, engines: list[EngineStats]):
    keys = ["gpu0.mem", "gpu0.util", "gpu0.power", "gpu1.mem", "gpu1.util", "gpu1.power"]
    keys += ["host.cpu", "host.mem"]
    for e in engines:
        keys += [f"engine:{e.name}.kv", f"engine:{e.name}.gen_tps"]

    def make() -> MonitorSampler:
        return MonitorSampler(
            gpu_reader=FixedGpus(gpus),
            host_reader=FixedHost(),
            scraper=FixedScraper(engines),
            history=filled_history(keys),
        )

    return make


class MonitorOnlyApp(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def __init__(self, factory) -> None:
        super().__init__()
        self.factory = factory

    def compose(self) -> ComposeResult:
        # A long interval: exactly one tick is shown, so snapshots are stable.
        yield MonitorTab(sampler_factory=self.factory, interval_s=3600)
