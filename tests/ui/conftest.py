"""UI-tier fixtures: a fixed host name and no GPU in the header, so snapshots hold anywhere."""

from __future__ import annotations

import pytest

from llmops_tui.telemetry.gpu import GpuSnapshot


class NoGpuReader:
    def read(self, owners=None) -> GpuSnapshot:
        return GpuSnapshot(available=False, reason="NVML Shared Library Not Found", taken_at=0.0)


@pytest.fixture(autouse=True)
def fixed_shell_header(monkeypatch):
    monkeypatch.setattr("llmops_tui.ui.app.host_label", lambda: "gpu-box")
    monkeypatch.setattr("llmops_tui.ui.shell.make_gpu_reader", NoGpuReader)


@pytest.fixture(autouse=True)
def box_without_gpu_or_docker(monkeypatch):
    """The Engines tab says whether each profile can launch on this box: the same box for
    every snapshot (no GPU, no Docker), wherever the tests run."""
    from llmops_tui.telemetry.gpu import GpuIds

    monkeypatch.setattr(
        "llmops_tui.telemetry.gpu.gpu_ids", lambda nvml=None: GpuIds(error="no NVIDIA GPU found")
    )
    monkeypatch.setattr("llmops_tui.launchable.which", lambda name, *a, **k: None)
