"""Text of the app header (plain functions, no terminal); the profile form's values are in
test_profile_form_data.py."""

from __future__ import annotations

from types import SimpleNamespace

from llmops_tui.telemetry.gpu import GpuInfo, GpuSnapshot
from llmops_tui.ui.shell import engines_summary, gpu_summary

GIB = 1024**3


def test_gpu_summary():
    snap = GpuSnapshot(
        available=True,
        gpus=[
            GpuInfo(0, "H100", memory_used=10 * GIB, memory_total=80 * GIB),
            GpuInfo(1, "H100", memory_used=int(2.5 * GIB), memory_total=80 * GIB),
        ],
    )
    assert gpu_summary(snap) == "2 GPUs · 12.5/160.0 GiB"
    assert gpu_summary(GpuSnapshot(available=False, reason="NVML Shared Library Not Found: x")) == (
        "no GPU (NVML Shared Library Not Found)"
    )
    assert gpu_summary(None) == "GPUs: …"


def test_engines_summary():
    def rec(phase):
        return SimpleNamespace(phase=phase, alive_phase=phase not in ("stopped", "failed"))

    assert engines_summary([]) == "no engine running"
    assert engines_summary([rec("ready"), rec("failed")]) == "1 engine running"
    assert engines_summary([rec("ready"), rec("loading")]) == "2 engines running (1 starting)"
