"""One launch or stop of an engine name at a time, across processes: an ``flock`` on
``<state>/.<name>.lock``. The holder writes who it is into the file, so a refused
caller can say which ``llmops`` holds it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path


class EngineBusy(RuntimeError):
    """Another llmops is launching or stopping this engine right now."""


def lock_path(state_dir: Path, name: str) -> Path:
    return state_dir / f".{name}.lock"


def _holder(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    return f"another llmops ({lines[0]})" if lines and lines[0] else "another llmops"


@contextlib.contextmanager
def engine_lock(state_dir: Path, name: str, what: str, wait_s: float = 0.0) -> Iterator[None]:
    """Hold ``name``'s lock for ``what`` ("launching", "stopping"); wait up to ``wait_s``
    for it, then raise EngineBusy naming the holder."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = lock_path(state_dir, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise EngineBusy(
                        f"{_holder(path)} is {_what_of(path)} '{name}' right now"
                    ) from None
                time.sleep(0.1)
        me = f"pid {os.getpid()}: {' '.join(['llmops', *sys.argv[1:]])[:80]}"
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{me}\n{what}\n".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _what_of(path: Path) -> str:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    return lines[1] if len(lines) > 1 else "launching or stopping"
