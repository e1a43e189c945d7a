"""Reading an engine's log incrementally: new lines fed to its ``LogWatch`` (phases,
progress, root cause), a tail kept for display, tqdm's ``\r`` redraws read too."""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field

from llmops_tui.engines.logs import LogWatch, split_lines
from llmops_tui.supervisor.records import EngineRecord

TAIL_LINES = 1000
MAX_REPLAY_BYTES = 8 * 1024 * 1024


@dataclass
class LogTail:
    """What this process has read of one engine's log so far."""

    log: LogWatch
    offset: int = 0
    partial: str = ""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    last_probe: float = 0.0
    doomed_at: float | None = None


def read_log(rec: EngineRecord, w: LogTail) -> LogTail:
    """Feed what the log gained since the last read into ``w``."""
    try:
        with open(rec.log_path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < w.offset:  # rotated or truncated: start over
                w.offset, w.partial = 0, ""
            if w.offset == 0 and size > MAX_REPLAY_BYTES:
                w.offset = size - MAX_REPLAY_BYTES
            f.seek(w.offset)
            data = f.read()
    except OSError:
        return w
    if not data:
        return w
    w.offset += len(data)
    text = w.partial + data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    w.partial = lines.pop()
    for line in lines:
        w.tail.append(line)
        for part in split_lines(line):
            w.log.feed(part)
    # tqdm redraws with \r and no newline: read the partial line's progress too.
    if "\r" in w.partial:
        last = w.partial.rsplit("\r", 1)[-1]
        if last.strip():
            probe = LogWatch(w.log.rules)
            probe.feed(last)
            if probe.progress:
                w.log.progress = probe.progress
    return w
