"""What a stop can claim, checked: the port (free only once a connect to it fails),
GPU memory (released only once NVML lists no process of the engine's tree, session or
marker), and a description of processes (pid, command, RSS, GPU MiB) for messages."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import psutil

from llmops_tui.supervisor import identity
from llmops_tui.supervisor.health import port_owner
from llmops_tui.supervisor.records import EngineRecord
from llmops_tui.telemetry import gpu

MIB = 1024 * 1024
PORT_WAIT_S = 3.0
GPU_WAIT_S = 30.0


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    command: str
    rss: int | None = None  # bytes; None when not readable (gone, another user's)
    gpu_mib: int | None = None  # None: NVML cannot tell

    def text(self) -> str:
        parts = [f"pid {self.pid} ({self.command})"]
        if self.rss is not None:
            rss = self.rss / 1e6
            parts.append(f"{rss / 1000:.1f} GB RSS" if rss >= 1000 else f"{rss:.0f} MB RSS")
        if self.gpu_mib is not None:
            parts.append(f"{self.gpu_mib:,} MiB GPU")
        return " ".join(parts)


def command_of(pid: int, limit: int = 80) -> str:
    try:
        p = psutil.Process(pid)
        cmd = " ".join(" ".join(p.cmdline()).split()) or p.name()
    except (psutil.Error, OSError):
        return "?"
    return cmd if len(cmd) <= limit else cmd[: limit - 1] + "…"


def describe(pids: list[int], usage: dict[int, int] | None) -> list[ProcInfo]:
    """pid, command, RSS and GPU MiB (0 when NVML lists it not; None without NVML)."""
    out = []
    for pid in sorted(pids):
        try:
            rss = psutil.Process(pid).memory_info().rss
        except (psutil.Error, OSError):
            rss = None
        mib = None if usage is None else usage.get(pid, 0) // MIB
        out.append(ProcInfo(pid, command_of(pid), rss, mib))
    return out


def client_host(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connect to host:port succeeds (a wildcard bind is tried on loopback)."""
    host = client_host(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((host, port))
        except OSError:
            return False
    return True


def port_holder_after_stop(host: str, port: int, wait_s: float | None = None) -> str | None:
    """None once a connect to the port fails; else who still answers there (after
    ``wait_s``, PORT_WAIT_S by default)."""
    deadline = time.monotonic() + (PORT_WAIT_S if wait_s is None else wait_s)
    while port_answers(host, port):
        if time.monotonic() > deadline:
            return port_owner(port) or "a process llmops cannot see (another user's?)"
        time.sleep(0.1)
    return None


def engine_gpu_holders(
    recs: list[EngineRecord], pids: set[int], usage: dict[int, int]
) -> list[ProcInfo]:
    """Processes NVML lists with memory that are the engines' (known pids, their session or
    their marker)."""
    out = []
    for pid, used in sorted(usage.items()):
        if pid in pids or any(
            identity.belongs(pid, r.session, r.create_time, r.marker) for r in recs
        ):
            out.append(ProcInfo(pid, command_of(pid), None, used // MIB))
    return out


def wait_gpu_released(
    recs: list[EngineRecord], pids: set[int], timeout: float | None = None
) -> tuple[bool | None, list[ProcInfo]]:
    """(True, []) once NVML lists no process of the engines; (None, []) without NVML;
    (False, holders) when some still hold memory after ``timeout`` (GPU_WAIT_S)."""
    deadline = time.monotonic() + (GPU_WAIT_S if timeout is None else timeout)
    while True:
        usage = gpu.gpu_memory_by_pid()
        if usage is None:
            return None, []
        holders = engine_gpu_holders(recs, pids, usage)
        if not holders:
            return True, []
        if time.monotonic() >= deadline:
            return False, holders
        time.sleep(0.25)


@dataclass
class StopReport:
    """What ``down`` did and checked, in words that claim nothing unchecked."""

    name: str
    port: int | None  # None: not known (an unreadable record that did not say)
    ended: list[int] = field(default_factory=list)  # pids that were running and are gone
    left: list[ProcInfo] = field(default_factory=list)  # still alive after SIGKILL
    port_holder: str | None = None  # None: a connect to the port failed
    gpu: bool | None = None  # True released, None no NVML, False held
    gpu_holders: list[ProcInfo] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    already: str | None = None  # "stopped"/"failed": it had ended, nothing of it ran

    @property
    def ok(self) -> bool:
        return not self.left and self.port_holder is None and self.gpu is not False

    def problems(self) -> list[str]:
        out = []
        if self.left:
            out.append("still alive after SIGKILL: " + "; ".join(p.text() for p in self.left))
        if self.port_holder is not None:
            out.append(f"port {self.port} still answers: {self.port_holder}")
        if self.gpu is False:
            held = "; ".join(
                f"pid {p.pid} ({p.command}) {p.gpu_mib:,} MiB" for p in self.gpu_holders
            )
            out.append(f"GPU memory still held: {held}")
        return out

    def summary(self) -> str:
        if self.already:
            return f"{self.name} was already {self.already}: none of its processes is running"
        if not self.ok:
            return f"{self.name}: " + "; ".join(self.problems())
        parts = [f"{len(self.ended)} process(es) ended"]
        if self.port:
            parts.append(f"port {self.port} free")
        parts.append("GPU memory released" if self.gpu else "no NVML: GPU memory not checked")
        return f"stopped {self.name} in {self.seconds:.1f} s ({', '.join(parts)})"
