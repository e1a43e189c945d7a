"""A fake ``pynvml`` module: the calls NvmlReader makes, with an H100's real values.

Error classes mirror nvidia-ml-py's (``NVMLError`` and its ``NVMLError_*``
subclasses); a device can be told to raise them where real drivers do.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

MIB = 1024 * 1024


class NVMLError(Exception):
    pass


def _err(name: str, text: str) -> type[NVMLError]:
    return type(name, (NVMLError,), {"__str__": lambda self: text})


ERRORS = {
    "NVMLError_NotSupported": _err("NVMLError_NotSupported", "Not Supported"),
    "NVMLError_LibraryNotFound": _err("NVMLError_LibraryNotFound", "NVML Shared Library Not Found"),
    "NVMLError_DriverNotLoaded": _err("NVMLError_DriverNotLoaded", "Driver Not Loaded"),
    "NVMLError_NoPermission": _err("NVMLError_NoPermission", "Insufficient Permissions"),
    "NVMLError_GpuIsLost": _err("NVMLError_GpuIsLost", "GPU is lost"),
    "NVMLError_Unknown": _err("NVMLError_Unknown", "Unknown Error"),
    "NVMLError_LibRmVersionMismatch": _err(
        "NVMLError_LibRmVersionMismatch", "RM has detected an NVML/RM version mismatch."
    ),
}


@dataclass
class FakeDevice:
    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-5b1f0c7e-9d1a-4f4e-8a39-2f7e3c1d9b01"
    total: int = 81559 * MIB  # what nvidia-smi shows for an H100 80GB HBM3
    used: int = 1 * MIB
    util_gpu: int = 0
    util_mem: int = 0
    power_mw: int = 71_234
    limit_mw: int = 700_000
    temp_c: int = 31
    energy_mj: int | None = None  # None: the board has no energy counter (NotSupported)
    compute: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, bytes)
    graphics: list[tuple[int, int | None]] = field(default_factory=list)
    raises: dict[str, str] = field(default_factory=dict)  # function name → error class name


def make_fake_nvml(devices: list[FakeDevice], init_error: str | None = None, driver="570.133.20"):
    mod = types.ModuleType("pynvml")
    mod.NVMLError = NVMLError
    for name, cls in ERRORS.items():
        setattr(mod, name, cls)
    mod.NVML_TEMPERATURE_GPU = 0
    mod.calls = {"nvmlInit": 0, "nvmlShutdown": 0}

    def check(dev: FakeDevice, fn: str) -> None:
        if fn in dev.raises:
            raise ERRORS[dev.raises[fn]]()

    def nvmlInit():
        mod.calls["nvmlInit"] += 1
        if init_error:
            raise ERRORS[init_error]()

    def nvmlShutdown():
        mod.calls["nvmlShutdown"] += 1

    def proc_list(pairs):
        return [types.SimpleNamespace(pid=p, usedGpuMemory=m) for p, m in pairs]

    def device_fn(fn: str, getter):
        def call(handle, *args):
            check(handle, fn)
            return getter(handle, *args)

        return call

    mod.nvmlInit = nvmlInit
    mod.nvmlShutdown = nvmlShutdown
    mod.nvmlDeviceGetCount = lambda: len(devices)
    mod.nvmlDeviceGetHandleByIndex = lambda i: devices[i]
    mod.nvmlSystemGetDriverVersion = lambda: driver
    mod.nvmlDeviceGetName = device_fn("nvmlDeviceGetName", lambda d: d.name)
    mod.nvmlDeviceGetUUID = device_fn("nvmlDeviceGetUUID", lambda d: d.uuid)
    mod.nvmlDeviceGetMemoryInfo = device_fn(
        "nvmlDeviceGetMemoryInfo",
        lambda d: types.SimpleNamespace(total=d.total, used=d.used, free=d.total - d.used),
    )
    mod.nvmlDeviceGetUtilizationRates = device_fn(
        "nvmlDeviceGetUtilizationRates",
        lambda d: types.SimpleNamespace(gpu=d.util_gpu, memory=d.util_mem),
    )
    mod.nvmlDeviceGetPowerUsage = device_fn("nvmlDeviceGetPowerUsage", lambda d: d.power_mw)
    mod.nvmlDeviceGetEnforcedPowerLimit = device_fn(
        "nvmlDeviceGetEnforcedPowerLimit", lambda d: d.limit_mw
    )

    def energy(d):
        if d.energy_mj is None:
            raise ERRORS["NVMLError_NotSupported"]()
        return d.energy_mj

    mod.nvmlDeviceGetTotalEnergyConsumption = device_fn(
        "nvmlDeviceGetTotalEnergyConsumption", energy
    )
    mod.nvmlDeviceGetTemperature = device_fn("nvmlDeviceGetTemperature", lambda d, s: d.temp_c)
    mod.nvmlDeviceGetComputeRunningProcesses = device_fn(
        "nvmlDeviceGetComputeRunningProcesses", lambda d: proc_list(d.compute)
    )
    mod.nvmlDeviceGetGraphicsRunningProcesses = device_fn(
        "nvmlDeviceGetGraphicsRunningProcesses", lambda d: proc_list(d.graphics)
    )
    return mod
