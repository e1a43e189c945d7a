"""GPUs over NVML (``nvidia-ml-py``, imported as ``pynvml``).

``NvmlReader`` initialises NVML once, on its first read. With no NVIDIA driver,
no library or no GPU it reports ``available=False`` with the reason, every time,
without raising and without logging more than once. Each field is read on its
own: a field the driver does not support (``NVMLError_NotSupported``, common for
power on some boards or per-process memory under MIG/WSL) is ``None`` and named
in ``unsupported``; any other NVML error on a field is logged once per GPU/field
and that field is ``None``. A lost GPU is an error on that GPU only.

The one-shot questions other modules ask (:func:`gpu_ids`, :func:`gpu_memory_totals`,
:func:`gpu_memory_by_pid`) open and shut NVML through the same guarded
:func:`open_nvml`, and read processes with the same reader as ``NvmlReader``.

Calls block for a few milliseconds: run them off the UI thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MIB = 1024 * 1024
_PARENT_DEPTH = 6  # how far up the process tree a GPU process is matched to an engine


@dataclass(frozen=True)
class GpuProcess:
    """One process holding memory on one GPU."""

    pid: int
    used_bytes: int | None  # None: the driver does not say (e.g. MIG, WSL)
    kind: str  # "compute", "graphics" or "compute+graphics"
    process_name: str | None  # None: not visible here (another PID namespace)
    engine: str | None  # owning engine's name, None if not one of ours


@dataclass
class GpuInfo:
    index: int
    name: str
    uuid: str | None = None
    memory_used: int | None = None  # bytes
    memory_total: int | None = None  # bytes
    util_percent: float | None = None
    memory_util_percent: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    energy_j: float | None = None  # total energy counter since the driver loaded (Volta+)
    temperature_c: float | None = None
    processes: list[GpuProcess] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def memory_fraction(self) -> float | None:
        if self.memory_used is None or not self.memory_total:
            return None
        return self.memory_used / self.memory_total


@dataclass
class GpuSnapshot:
    available: bool
    reason: str | None = None  # why there are no GPUs, when available is False
    driver_version: str | None = None
    gpus: list[GpuInfo] = field(default_factory=list)
    taken_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for gpu, raw in zip(self.gpus, out["gpus"]):
            raw["memory_fraction"] = gpu.memory_fraction
        return out


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _init_failure_reason(nvml: Any, exc: BaseException) -> str:
    """A sentence for the user saying why NVML gave no GPU."""

    def is_(name: str) -> bool:
        cls = getattr(nvml, name, None)
        return isinstance(cls, type) and isinstance(exc, cls)

    if is_("NVMLError_LibraryNotFound"):
        return "no NVIDIA GPU found: the NVIDIA driver library (libnvidia-ml.so) is not installed"
    if is_("NVMLError_DriverNotLoaded"):
        return "no NVIDIA GPU found: the NVIDIA kernel driver is not loaded"
    if is_("NVMLError_NoPermission"):
        return "no NVIDIA GPU found: no permission to talk to the NVIDIA driver"
    if is_("NVMLError_LibRmVersionMismatch"):
        return (
            "no NVIDIA GPU found: driver/library version mismatch (was the driver "
            "upgraded without a reboot?)"
        )
    return f"no NVIDIA GPU found: NVML failed to start ({_text(exc) or type(exc).__name__})"


class ProcessNames:
    """pid → (process name, ancestor pids), cached while the pid stays on a GPU."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[str | None, tuple[int, ...]]] = {}

    def lookup(self, pid: int) -> tuple[str | None, tuple[int, ...]]:
        hit = self._cache.get(pid)
        if hit is not None:
            return hit
        import psutil

        try:
            proc = psutil.Process(pid)
            name = proc.name()
            ancestors = tuple(p.pid for p in proc.parents()[:_PARENT_DEPTH])
        except (psutil.Error, OSError):
            name, ancestors = None, ()
        self._cache[pid] = (name, ancestors)
        return name, ancestors

    def keep_only(self, pids: set[int]) -> None:
        for pid in [p for p in self._cache if p not in pids]:
            del self._cache[pid]


# -- one guarded start/stop --------------------------------------------------


class NvmlUnavailable(Exception):
    """NVML gives no GPU here; ``str(exc)`` is the "no NVIDIA GPU found: <reason>" sentence."""


NO_GPUS_REASON = "no NVIDIA GPU found: the driver is loaded but reports 0 GPUs"


def open_nvml(nvml: Any = None) -> tuple[Any, list[Any]]:
    """Start NVML and return ``(module, one handle per GPU)``; the list may be empty.

    ``nvml``: a pynvml-like module (tests pass a fake); None imports ``pynvml``.
    Raises :class:`NvmlUnavailable` with the reason, and leaves NVML shut, when it fails.
    """
    if nvml is None:
        try:
            import pynvml
        except ImportError:
            raise NvmlUnavailable(
                "no NVIDIA GPU found: the nvidia-ml-py package (pynvml) is not installed"
            ) from None
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise NvmlUnavailable(_init_failure_reason(nvml, exc)) from exc
    except OSError as exc:  # a broken library can surface as OSError from ctypes
        raise NvmlUnavailable(f"no NVIDIA GPU found: cannot load NVML ({exc})") from exc
    try:
        count = nvml.nvmlDeviceGetCount()
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
    except nvml.NVMLError as exc:
        close_nvml(nvml)
        raise NvmlUnavailable(
            f"no NVIDIA GPU found: NVML could not list GPUs ({_text(exc)})"
        ) from exc
    return nvml, handles


def close_nvml(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:  # shutting down a half-started NVML must not raise
        pass


@contextmanager
def nvml_session(nvml: Any = None) -> Iterator[tuple[Any, list[Any]]]:
    """``open_nvml`` for one question: NVML is shut again on leaving."""
    nvml, handles = open_nvml(nvml)
    try:
        yield nvml, handles
    finally:
        close_nvml(nvml)


# -- guarded field reads, shared by the reader and the one-shot questions ----

LogOnce = Callable[[int, str, BaseException], None]


def _read_field(nvml: Any, gpu: GpuInfo, what: str, log_once: LogOnce, fn: Any, *args: Any) -> Any:
    """``fn(*args)``; an NVML error is ``None`` (and noted on ``gpu``), never raised."""
    try:
        return fn(*args)
    except nvml.NVMLError_NotSupported:
        if what not in gpu.unsupported:
            gpu.unsupported.append(what)
        return None
    except nvml.NVMLError as exc:
        if isinstance(exc, nvml.NVMLError_GpuIsLost):
            gpu.error = "GPU is lost (fell off the bus): needs a reset or reboot"
        log_once(gpu.index, what, exc)
        return None


def _no_log(index: int, what: str, exc: BaseException) -> None:
    pass


def read_process_memory(
    nvml: Any, gpu: GpuInfo, handle: Any, log_once: LogOnce = _no_log
) -> dict[int, tuple[int | None, list[str]]]:
    """pid → (bytes held on this GPU or None when the driver does not say, kinds)."""
    merged: dict[int, tuple[int | None, list[str]]] = {}
    for kind, fn in (
        ("compute", nvml.nvmlDeviceGetComputeRunningProcesses),
        ("graphics", nvml.nvmlDeviceGetGraphicsRunningProcesses),
    ):
        procs = _read_field(nvml, gpu, f"{kind} processes", log_once, fn, handle) or []
        for p in procs:
            used = getattr(p, "usedGpuMemory", None)
            used = int(used) if used is not None else None
            prev_used, kinds = merged.get(p.pid, (None, []))
            if used is not None and (prev_used is None or used > prev_used):
                prev_used = used
            merged[p.pid] = (prev_used, [*kinds, kind])
    return merged


# -- one-shot questions --------------------------------------------------------


@dataclass(frozen=True)
class GpuIds:
    """What NVML says exists: indices and UUIDs, or why it could not say."""

    indices: tuple[int, ...] = ()
    uuids: tuple[str, ...] = ()
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.error is None


def gpu_ids(nvml: Any = None) -> GpuIds:
    """Indices and UUIDs of the GPUs here (none, not an error, when the driver reports 0)."""
    try:
        with nvml_session(nvml) as (nv, handles):
            uuids = tuple(_text(nv.nvmlDeviceGetUUID(h)) for h in handles)
    except NvmlUnavailable as exc:
        return GpuIds(error=str(exc))
    except Exception as exc:
        return GpuIds(error=f"NVML query failed ({_text(exc) or type(exc).__name__})")
    return GpuIds(tuple(range(len(uuids))), uuids)


def gpu_memory_totals(nvml: Any = None) -> list[tuple[int, str, int]]:
    """(index, name, total bytes) per GPU; [] when NVML gives no GPU."""
    try:
        with nvml_session(nvml) as (nv, handles):
            return [
                (i, _text(nv.nvmlDeviceGetName(h)), int(nv.nvmlDeviceGetMemoryInfo(h).total))
                for i, h in enumerate(handles)
            ]
    except NvmlUnavailable:
        return []


def gpu_memory_by_pid(nvml: Any = None) -> dict[int, int] | None:
    """Bytes of GPU memory per process over all GPUs; None when NVML cannot tell."""
    try:
        with nvml_session(nvml) as (nv, handles):
            out: dict[int, int] = {}
            for i, handle in enumerate(handles):
                procs = read_process_memory(nv, GpuInfo(index=i, name="?"), handle)
                for pid, (used, _kinds) in procs.items():
                    out[pid] = out.get(pid, 0) + (used or 0)
            return out
    except Exception:  # NvmlUnavailable, or a driver error mid-read: cannot tell
        return None


# -- the Monitor's reader --------------------------------------------------------


class NvmlReader:
    """Reads every GPU through NVML; never raises out of ``read``."""

    def __init__(self, nvml: Any = None, process_names: ProcessNames | None = None) -> None:
        self._nvml = nvml  # a pynvml-like module; None → import pynvml on first read
        self._ready = False
        self._failed_reason: str | None = None
        self._handles: list[Any] = []
        self._driver: str | None = None
        self._logged: set[tuple[int, str, str]] = set()
        self._names = process_names or ProcessNames()

    # -- lifecycle -----------------------------------------------------------
    def _start(self) -> bool:
        if self._ready:
            return True
        if self._failed_reason is not None:
            return False
        try:
            self._nvml, self._handles = open_nvml(self._nvml)
        except NvmlUnavailable as exc:
            self._failed_reason = str(exc)
            log.info("NVML unavailable: %s", self._failed_reason)
            return False
        nvml = self._nvml
        if not self._handles:
            self._failed_reason = NO_GPUS_REASON
            close_nvml(nvml)
            return False
        try:
            self._driver = _text(nvml.nvmlSystemGetDriverVersion())
        except nvml.NVMLError:
            self._driver = None
        self._ready = True
        return True

    def close(self) -> None:
        if self._ready:
            close_nvml(self._nvml)
            self._ready = False

    @property
    def unavailable_reason(self) -> str | None:
        return self._failed_reason

    # -- reading -------------------------------------------------------------
    def read(self, owners: Mapping[int, str] | None = None) -> GpuSnapshot:
        """Every GPU now; ``owners`` maps pids to engine names."""
        owners = owners or {}
        if not self._start():
            return GpuSnapshot(available=False, reason=self._failed_reason)
        gpus = [self._read_gpu(i, h, owners) for i, h in enumerate(self._handles)]
        self._names.keep_only({p.pid for g in gpus for p in g.processes})
        return GpuSnapshot(available=True, driver_version=self._driver, gpus=gpus)

    def _log_once(self, index: int, what: str, exc: BaseException) -> None:
        key = (index, what, type(exc).__name__)
        if key not in self._logged:
            self._logged.add(key)
            log.warning("GPU %d: reading %s failed: %s", index, what, _text(exc))

    def _get(self, gpu: GpuInfo, what: str, fn: Any, *args: Any) -> Any:
        return _read_field(self._nvml, gpu, what, self._log_once, fn, *args)

    def _read_gpu(self, index: int, handle: Any, owners: Mapping[int, str]) -> GpuInfo:
        nvml = self._nvml
        gpu = GpuInfo(index=index, name="?")
        name = self._get(gpu, "name", nvml.nvmlDeviceGetName, handle)
        if gpu.error:
            return gpu
        gpu.name = _text(name) if name is not None else f"GPU {index}"
        uuid = self._get(gpu, "uuid", nvml.nvmlDeviceGetUUID, handle)
        gpu.uuid = _text(uuid) if uuid is not None else None
        mem = self._get(gpu, "memory", nvml.nvmlDeviceGetMemoryInfo, handle)
        if mem is not None:
            gpu.memory_used, gpu.memory_total = int(mem.used), int(mem.total)
        util = self._get(gpu, "utilization", nvml.nvmlDeviceGetUtilizationRates, handle)
        if util is not None:
            gpu.util_percent, gpu.memory_util_percent = float(util.gpu), float(util.memory)
        power = self._get(gpu, "power", nvml.nvmlDeviceGetPowerUsage, handle)
        if power is not None:
            gpu.power_w = power / 1000.0
        gpu.energy_j = self._energy_j(handle)
        limit = self._get(gpu, "power limit", nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
        if limit is not None:
            gpu.power_limit_w = limit / 1000.0
        temp = self._get(
            gpu, "temperature", nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU
        )
        if temp is not None:
            gpu.temperature_c = float(temp)
        gpu.processes = self._read_processes(gpu, handle, owners)
        return gpu

    def _energy_j(self, handle: Any) -> float | None:
        """The board's energy counter (J), or None: older boards have none (not listed as
        unsupported, the Monitor does not show it); load tests integrate power instead."""
        fn = getattr(self._nvml, "nvmlDeviceGetTotalEnergyConsumption", None)
        if fn is None:
            return None
        try:
            return fn(handle) / 1000.0  # mJ
        except self._nvml.NVMLError:
            return None

    def _read_processes(
        self, gpu: GpuInfo, handle: Any, owners: Mapping[int, str]
    ) -> list[GpuProcess]:
        out = []
        for pid, (used, kinds) in read_process_memory(
            self._nvml, gpu, handle, self._log_once
        ).items():
            name, ancestors = self._names.lookup(pid)
            engine = owners.get(pid)
            if engine is None:
                engine = next((owners[a] for a in ancestors if a in owners), None)
            out.append(GpuProcess(pid, used, "+".join(kinds), name, engine))
        out.sort(key=lambda p: -(p.used_bytes or 0))
        return out
