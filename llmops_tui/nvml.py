"""The few NVML questions the supervisor asks, each guarded: no GPU, no driver or no
library is a normal answer ("unknown"), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GpuIds:
    """What NVML says exists: indices and UUIDs, or why it could not say."""

    indices: tuple[int, ...] = ()
    uuids: tuple[str, ...] = ()
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.error is None


def _init():
    import pynvml

    pynvml.nvmlInit()
    return pynvml


def gpu_ids() -> GpuIds:
    try:
        nv = _init()
    except Exception as exc:  # library missing, driver missing, no permission
        return GpuIds(error=f"NVML unavailable ({exc or type(exc).__name__})")
    try:
        count = nv.nvmlDeviceGetCount()
        uuids = []
        for i in range(count):
            u = nv.nvmlDeviceGetUUID(nv.nvmlDeviceGetHandleByIndex(i))
            uuids.append(u.decode() if isinstance(u, bytes) else str(u))
        return GpuIds(tuple(range(count)), tuple(uuids))
    except Exception as exc:
        return GpuIds(error=f"NVML query failed ({exc or type(exc).__name__})")
    finally:
        try:
            nv.nvmlShutdown()
        except Exception:
            pass


def gpu_memory_by_pid() -> dict[int, int] | None:
    """Bytes of GPU memory per process over all GPUs; None when NVML cannot tell."""
    try:
        nv = _init()
    except Exception:
        return None
    out: dict[int, int] = {}
    try:
        for i in range(nv.nvmlDeviceGetCount()):
            handle = nv.nvmlDeviceGetHandleByIndex(i)
            for getter in (
                "nvmlDeviceGetComputeRunningProcesses",
                "nvmlDeviceGetGraphicsRunningProcesses",
            ):
                try:
                    procs = getattr(nv, getter)(handle)
                except Exception:
                    continue
                for p in procs:
                    used = p.usedGpuMemory if isinstance(p.usedGpuMemory, int) else 0
                    out[p.pid] = out.get(p.pid, 0) + used
        return out
    except Exception:
        return None
    finally:
        try:
            nv.nvmlShutdown()
        except Exception:
            pass
