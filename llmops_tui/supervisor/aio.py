"""Asyncio face of :class:`~llmops_tui.supervisor.core.Supervisor`: the blocking calls run in a
thread (moved out of core.py, which holds the synchronous supervisor alone)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor.core import Supervisor
from llmops_tui.supervisor.records import EngineRecord


async def _to_thread(fn: Callable, *args):
    # asyncio is imported here, not at the top: the CLI (`llmops swap`, `ps`, `down`) never
    # uses this class and asyncio with its ssl/concurrent.futures costs ~20 ms of every start.
    import asyncio

    return await asyncio.to_thread(fn, *args)


class AsyncSupervisor:
    """Asyncio face of :class:`Supervisor`: the blocking calls run in a thread."""

    def __init__(self, supervisor: Supervisor | None = None, state_dir: Path | None = None):
        self.sync = supervisor or Supervisor(state_dir)

    async def up(self, profile: Profile, wait: bool = False, timeout: float = 900.0):
        return await _to_thread(self.sync.up, profile, wait, timeout)

    async def wait_ready(self, name: str, timeout: float = 900.0) -> EngineRecord:
        return await _to_thread(self.sync.wait_ready, name, timeout)

    async def down(self, name: str, grace: float | None = None) -> EngineRecord:
        return await _to_thread(self.sync.down, name, grace)

    async def records(self) -> list[EngineRecord]:
        return await _to_thread(self.sync.records)

    async def process_pids(self, name: str) -> list[int]:
        return await _to_thread(self.sync.process_pids, name)

    async def tail(self, name: str, n: int = 50) -> list[str]:
        return await _to_thread(self.sync.tail, name, n)

    async def swap(self, from_name: str, to: Profile, timeout: float = 900.0) -> EngineRecord:
        return await _to_thread(self.sync.swap, from_name, to, timeout)
