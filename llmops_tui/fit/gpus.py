"""The GPUs an estimate is made for: given on the command line, or seen by NVML."""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------
# GPUs


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    memory_total: int  # bytes


def gpus_given(count: int, memory_bytes: int, name: str = "GPU") -> list[Gpu]:
    return [Gpu(i, name, memory_bytes) for i in range(count)]


def read_nvml_gpus() -> list[Gpu]:
    """GPUs seen by NVML ([] when there is no NVIDIA driver)."""
    from llmops_tui.telemetry.gpu import gpu_memory_totals

    return [Gpu(index, name, total) for index, name, total in gpu_memory_totals()]
