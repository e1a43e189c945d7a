"""NvmlReader against a fake pynvml with an H100's values and real drivers' errors."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from fake_nvml import MIB, FakeDevice, make_fake_nvml

from llmops_tui.telemetry.gpu import NvmlReader, gpu_ids, gpu_memory_by_pid, gpu_memory_totals


def h100(**kw) -> FakeDevice:
    base = dict(used=62_345 * MIB, util_gpu=87, util_mem=54, power_mw=512_345, temp_c=58)
    base.update(kw)
    return FakeDevice(**base)


def test_reads_every_field_of_an_h100():
    nvml = make_fake_nvml([h100(compute=[(4242, 61_000 * MIB)])])
    snap = NvmlReader(nvml=nvml).read()
    assert snap.available and snap.reason is None
    assert snap.driver_version == "570.133.20"
    (g,) = snap.gpus
    assert g.name == "NVIDIA H100 80GB HBM3"
    assert g.memory_total == 81559 * MIB
    assert g.memory_used == 62_345 * MIB
    assert g.memory_fraction == pytest.approx(62_345 / 81_559)
    assert (g.util_percent, g.memory_util_percent) == (87.0, 54.0)
    assert g.power_w == pytest.approx(512.345)
    assert g.power_limit_w == 700.0
    assert g.temperature_c == 58.0
    assert g.unsupported == [] and g.error is None
    assert [(p.pid, p.used_bytes, p.kind) for p in g.processes] == [(4242, 61_000 * MIB, "compute")]


@pytest.mark.parametrize(
    ("error", "says"),
    [
        ("NVMLError_LibraryNotFound", "libnvidia-ml.so"),
        ("NVMLError_DriverNotLoaded", "kernel driver is not loaded"),
        ("NVMLError_NoPermission", "no permission"),
        ("NVMLError_LibRmVersionMismatch", "version mismatch"),
        ("NVMLError_Unknown", "Unknown Error"),
    ],
)
def test_no_driver_is_a_state_with_the_reason_and_init_is_tried_once(error, says, caplog):
    nvml = make_fake_nvml([h100()], init_error=error)
    reader = NvmlReader(nvml=nvml)
    with caplog.at_level(logging.INFO):
        snaps = [reader.read() for _ in range(5)]
    assert all(not s.available and s.gpus == [] for s in snaps)
    assert snaps[0].reason.startswith("no NVIDIA GPU found")
    assert says in snaps[0].reason
    assert nvml.calls["nvmlInit"] == 1
    assert len(caplog.records) <= 1  # no spam: one line at most, on the first read


def test_zero_gpus_is_no_gpu_found():
    nvml = make_fake_nvml([])
    snap = NvmlReader(nvml=nvml).read()
    assert not snap.available and "reports 0 GPUs" in snap.reason
    assert nvml.calls["nvmlShutdown"] == 1


def test_missing_pynvml_package_is_a_reason_not_a_crash(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml → ImportError
    snap = NvmlReader().read()
    assert not snap.available and "nvidia-ml-py" in snap.reason


def test_lazy_import_uses_the_pynvml_module(monkeypatch):
    fake = make_fake_nvml([h100()])
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    snap = NvmlReader().read()
    assert snap.available and snap.gpus[0].name == "NVIDIA H100 80GB HBM3"


def test_not_supported_fields_are_none_and_named_without_warnings(caplog):
    # e.g. power readings on boards/VMs without power telemetry, or graphics lists on compute GPUs
    dev = h100(
        raises={
            "nvmlDeviceGetPowerUsage": "NVMLError_NotSupported",
            "nvmlDeviceGetEnforcedPowerLimit": "NVMLError_NotSupported",
            "nvmlDeviceGetGraphicsRunningProcesses": "NVMLError_NotSupported",
        },
        compute=[(77, 1024 * MIB)],
    )
    reader = NvmlReader(nvml=make_fake_nvml([dev]))
    with caplog.at_level(logging.WARNING):
        g = reader.read().gpus[0]
    assert g.power_w is None and g.power_limit_w is None
    assert g.unsupported == ["power", "power limit", "graphics processes"]
    assert g.memory_used == 62_345 * MIB and g.temperature_c == 58.0
    assert [p.pid for p in g.processes] == [77]
    assert caplog.records == []


def test_other_field_errors_are_logged_once_not_every_tick(caplog):
    dev = h100(raises={"nvmlDeviceGetComputeRunningProcesses": "NVMLError_NoPermission"})
    reader = NvmlReader(nvml=make_fake_nvml([dev]))
    with caplog.at_level(logging.WARNING):
        for _ in range(10):
            g = reader.read().gpus[0]
    assert g.processes == [] and g.memory_used == 62_345 * MIB
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "compute processes" in warnings[0].getMessage()


def test_a_lost_gpu_is_an_error_on_that_gpu_only():
    lost = h100(raises={"nvmlDeviceGetName": "NVMLError_GpuIsLost"})
    snap = NvmlReader(nvml=make_fake_nvml([h100(), lost])).read()
    assert snap.available
    assert snap.gpus[0].error is None and snap.gpus[0].memory_total == 81559 * MIB
    assert "lost" in snap.gpus[1].error and snap.gpus[1].memory_total is None


def test_processes_merge_compute_and_graphics_and_sort_by_memory():
    dev = h100(
        compute=[(10, 2000 * MIB), (11, 50_000 * MIB)],
        graphics=[(10, 2100 * MIB), (12, None)],  # None: the driver does not say (MIG/WSL)
    )
    g = NvmlReader(nvml=make_fake_nvml([dev])).read().gpus[0]
    got = [(p.pid, p.used_bytes, p.kind) for p in g.processes]
    assert got == [
        (11, 50_000 * MIB, "compute"),
        (10, 2100 * MIB, "compute+graphics"),
        (12, None, "graphics"),
    ]


def test_processes_map_to_engines_by_pid_and_by_parent():
    # A real child of this process: owned through its parent (an engine's worker process).
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        dev = h100(compute=[(child.pid, 40_000 * MIB), (os.getpid(), 900 * MIB), (999_999, 1)])
        owners = {os.getpid(): "llama70b"}
        g = NvmlReader(nvml=make_fake_nvml([dev])).read(owners).gpus[0]
        by_pid = {p.pid: p for p in g.processes}
        assert by_pid[os.getpid()].engine == "llama70b"
        assert by_pid[child.pid].engine == "llama70b"
        assert by_pid[child.pid].process_name and "python" in by_pid[child.pid].process_name
        # A pid not visible here (another container's PID namespace): no name, no owner.
        assert by_pid[999_999].engine is None and by_pid[999_999].process_name is None
    finally:
        child.kill()
        child.wait()


def test_snapshot_to_dict_is_json_ready():
    import json

    snap = NvmlReader(nvml=make_fake_nvml([h100(compute=[(5, MIB)])])).read()
    d = json.loads(json.dumps(snap.to_dict()))
    assert d["gpus"][0]["memory_total"] == 81559 * MIB
    assert d["gpus"][0]["memory_fraction"] == pytest.approx(62_345 / 81_559)
    assert d["gpus"][0]["processes"][0]["pid"] == 5


def test_close_shuts_nvml_down_once():
    nvml = make_fake_nvml([h100()])
    reader = NvmlReader(nvml=nvml)
    reader.read()
    reader.close()
    reader.close()
    assert nvml.calls["nvmlShutdown"] == 1


# -- the one-shot questions (supervisor preflight, stop check, fit) share open_nvml --


def test_gpu_ids_lists_indices_and_uuids_and_shuts_nvml():
    nvml = make_fake_nvml([h100(uuid="GPU-a"), h100(uuid="GPU-b")])
    ids = gpu_ids(nvml)
    assert ids.available and ids.indices == (0, 1) and ids.uuids == ("GPU-a", "GPU-b")
    assert nvml.calls == {"nvmlInit": 1, "nvmlShutdown": 1}


def test_gpu_ids_without_driver_says_no_gpu_found_with_the_reason():
    nvml = make_fake_nvml([h100()], init_error="NVMLError_NoPermission")
    ids = gpu_ids(nvml)
    assert not ids.available
    assert ids.error == "no NVIDIA GPU found: no permission to talk to the NVIDIA driver"


def test_gpu_ids_with_zero_gpus_is_an_empty_answer_not_an_error():
    ids = gpu_ids(make_fake_nvml([]))
    assert ids.available and ids.indices == ()


def test_gpu_memory_totals_for_the_fit_estimate():
    nvml = make_fake_nvml([h100(), h100(name="NVIDIA A100-SXM4-40GB", total=40_960 * MIB)])
    assert gpu_memory_totals(nvml) == [
        (0, "NVIDIA H100 80GB HBM3", 81_559 * MIB),
        (1, "NVIDIA A100-SXM4-40GB", 40_960 * MIB),
    ]
    assert gpu_memory_totals(make_fake_nvml([], init_error="NVMLError_DriverNotLoaded")) == []


def test_gpu_memory_by_pid_sums_over_gpus_and_survives_unsupported_lists():
    nvml = make_fake_nvml(
        [
            h100(compute=[(10, 30_000 * MIB), (11, None)]),
            h100(
                compute=[(10, 20_000 * MIB)],
                raises={"nvmlDeviceGetGraphicsRunningProcesses": "NVMLError_NotSupported"},
            ),
        ]
    )
    assert gpu_memory_by_pid(nvml) == {10: 50_000 * MIB, 11: 0}
    assert nvml.calls["nvmlShutdown"] == 1


def test_gpu_memory_by_pid_is_none_when_nvml_cannot_tell():
    assert (
        gpu_memory_by_pid(make_fake_nvml([h100()], init_error="NVMLError_LibraryNotFound")) is None
    )
    assert gpu_memory_by_pid(make_fake_nvml([])) == {}  # a driver with no GPU: nothing is held
