"""Follow a growing log file (tail -f) in small, bounded reads. No Textual here."""

from __future__ import annotations

import os
from pathlib import Path

READ_CHUNK = 1 << 20  # at most 1 MiB per read() call: a burst never stalls one batch


class LogFollower:
    """Reads the last ``backlog`` lines once, then whatever is appended.

    Handles a file that does not exist yet (returns nothing until it appears), a file
    truncated or replaced (starts over from its beginning) and a last line without its
    newline (held back until it is complete).
    """

    def __init__(self, path: str | os.PathLike[str], backlog: int = 1000) -> None:
        self.path = Path(path)
        self.backlog = backlog
        self._offset: int | None = None  # None: the backlog has not been read yet
        self._inode: int | None = None
        self._partial = b""

    def _stat(self) -> os.stat_result | None:
        try:
            return self.path.stat()
        except OSError:
            return None

    def _read_backlog(self, size: int) -> list[str]:
        start = max(0, size - max(self.backlog, 1) * 400)
        with open(self.path, "rb") as f:
            f.seek(start)
            data = f.read(size - start)
        self._offset = size
        if start > 0:  # the first line is probably cut: drop it
            cut = data.find(b"\n")
            data = data[cut + 1 :] if cut >= 0 else b""
        lines = self._split(data)
        return lines[-self.backlog :] if self.backlog else []

    def _split(self, data: bytes) -> list[str]:
        data = self._partial + data
        parts = data.split(b"\n")
        self._partial = parts.pop()
        return [p.decode("utf-8", "replace").rstrip("\r") for p in parts]

    def read_new(self, max_bytes: int = READ_CHUNK) -> list[str]:
        """Complete lines added since the last call (the backlog on the first)."""
        st = self._stat()
        if st is None:
            return []
        if self._inode is not None and (st.st_ino != self._inode):
            self._offset, self._partial = 0, b""  # replaced by a new file
        self._inode = st.st_ino
        if self._offset is None:
            return self._read_backlog(st.st_size)
        if st.st_size < self._offset:  # truncated
            self._offset, self._partial = 0, b""
        if st.st_size == self._offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read(min(max_bytes, st.st_size - self._offset))
        self._offset += len(data)
        return self._split(data)


def find_matches(lines: list[str], needle: str) -> list[int]:
    """Indexes of the lines containing ``needle`` (case-insensitive unless it has capitals)."""
    if not needle:
        return []
    if needle.lower() == needle:
        return [i for i, line in enumerate(lines) if needle in line.lower()]
    return [i for i, line in enumerate(lines) if needle in line]
