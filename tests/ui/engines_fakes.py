"""A fake Supervisor for the Engines tab's UI tests: records in memory, calls recorded."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from llmops_tui.engines.base import LaunchRefused
from llmops_tui.supervisor.records import EngineRecord

T0 = 1_700_000_000.0


def make_record(name: str, phase: str = "ready", port: int = 8000, **kw) -> EngineRecord:
    values = dict(
        name=name,
        engine="vllm",
        profile_path=None,
        pid=4242,
        create_time=T0,
        argv=["python", "-m", "vllm.entrypoints.openai.api_server"],
        host="127.0.0.1",
        port=port,
        base_url=f"http://127.0.0.1:{port}",
        metrics_url=f"http://127.0.0.1:{port}/metrics",
        served_model_name="tiny-llama",
        started_at=T0,
        phase=phase,
        log_path="/nonexistent/engine.log",
        hostname="gpu-box",
    )
    values.update(kw)
    return EngineRecord(**values)


class FakeSupervisor:
    """Enough of Supervisor for the tab: records/get/up/down/swap, each call logged."""

    def __init__(self, records: list[EngineRecord] | None = None, refuse: str | None = None):
        self._records = {r.name: r for r in records or []}
        self.refuse = refuse
        self.calls: list[tuple] = []
        self.lock = threading.Lock()
        self.left: dict[str, list[int]] = {}  # ended engines' processes still running
        self.lost_engines: list = []  # LostEngine: unreadable records, unrecorded launches

    def records(self) -> list[EngineRecord]:
        with self.lock:
            return list(self._records.values())

    def leftovers(self, records: list[EngineRecord]) -> dict[str, list[int]]:
        with self.lock:
            return {n: list(p) for n, p in self.left.items() if p}

    def lost(self) -> list:
        with self.lock:
            return list(self.lost_engines)

    def get(self, name: str) -> EngineRecord | None:
        return self._records.get(name)

    def set_phase(self, name: str, phase: str, **kw) -> None:
        with self.lock:
            rec = self._records[name]
            rec.phase = phase
            for k, v in kw.items():
                setattr(rec, k, v)

    def up(self, profile, wait: bool = False, timeout: float = 900.0, **kw) -> EngineRecord:
        self.calls.append(("up", profile.name))
        if self.refuse:
            raise LaunchRefused(self.refuse)
        rec = make_record(profile.name, "starting", port=profile.port, started_at=time.time())
        with self.lock:
            self._records[rec.name] = rec
        return rec

    def down(self, name: str, grace: float | None = None) -> EngineRecord:
        self.calls.append(("down", name))
        with self.lock:
            self.left.pop(name, None)
            if name not in self._records:  # a lost engine: stopped, nothing recorded
                self.lost_engines = [x for x in self.lost_engines if x.name != name]
                return make_record(name, "stopped")
            rec = self._records[name]
            rec.phase = "stopped"
            rec.gpu_memory_released = True
        return rec

    def swap(self, from_name: str, to, timeout: float = 900.0, **kw) -> EngineRecord:
        self.calls.append(("swap", from_name, to.name))
        self.down(from_name)
        rec = self.up(to)
        rec.phase = "ready"
        return rec


def write_log(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path
