"""GPU memory of an engine during a bake-off scenario, through NvmlReader and a fake NVML:
the engine's processes summed over GPUs, whole-GPU memory when the driver gives no
per-process figures, and the reason when there is no GPU. Counter totals from /metrics."""

from __future__ import annotations

from pathlib import Path

from fake_nvml import MIB, FakeDevice, make_fake_nvml

from llmops_tui.bench.bakeoff_sampling import GpuMemorySampler, counter_total
from llmops_tui.telemetry.gpu import NvmlReader


def test_engine_processes_summed_over_gpus_others_ignored():
    nvml = make_fake_nvml(
        [
            FakeDevice(used=62_000 * MIB, compute=[(100, 60_000 * MIB), (999, 1_000 * MIB)]),
            FakeDevice(uuid="GPU-2", used=60_500 * MIB, compute=[(101, 60_000 * MIB)]),
        ]
    )
    sampler = GpuMemorySampler(NvmlReader(nvml=nvml))
    mib, note = sampler.read_mib({100, 101})
    assert (mib, note) == (120_000, None)


def test_no_per_process_figures_falls_back_to_whole_gpu_memory():
    nvml = make_fake_nvml([FakeDevice(used=40_000 * MIB, compute=[(100, None)])])
    mib, note = GpuMemorySampler(NvmlReader(nvml=nvml)).read_mib({100})
    assert mib == 40_000 and note == "whole-GPU memory (no per-process figures)"


def test_no_gpu_is_none_with_the_reason():
    nvml = make_fake_nvml([], init_error="NVMLError_DriverNotLoaded")
    mib, note = GpuMemorySampler(NvmlReader(nvml=nvml)).read_mib({100})
    assert mib is None and "kernel driver is not loaded" in note


def test_counter_totals_sum_ranks_and_take_the_first_name_present():
    text = "\n".join(
        [
            "# TYPE vllm:prefix_cache_hits_total counter",
            'vllm:prefix_cache_hits_total{engine="0",model_name="m"} 120.0',
            'vllm:prefix_cache_hits_total{engine="1",model_name="m"} 30.0',
            'vllm:prefix_cache_queries_total{engine="0",model_name="m"} 400.0',
        ]
    )
    hits = ("vllm:prefix_cache_hits_total", "vllm:gpu_prefix_cache_hits_total")
    assert counter_total(text, "vllm", hits) == 150.0
    assert counter_total(text, "vllm", ("vllm:gpu_prefix_cache_queries_total",)) is None
    assert counter_total(text, "tgi", hits) is None


def test_counter_totals_on_a_real_sglang_page():
    page = Path(__file__).parents[1] / "fixtures/metrics/sglang-0.5-dp2-t1.prom"
    text = page.read_text()
    cached = counter_total(text, "sglang", ("sglang:cached_tokens_total",))
    prompt = counter_total(text, "sglang", ("sglang:prompt_tokens_total",))
    assert cached is not None and prompt is not None and 0 <= cached <= prompt
