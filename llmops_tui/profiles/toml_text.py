"""Reading a profile's TOML text: where each key is (tomllib gives no positions), and parsing
that refuses nesting no profile needs before tomllib recurses into it."""

from __future__ import annotations

import re
import sys
from typing import Any

from llmops_tui.profiles.profile import ProfileIssue

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


# ---------------------------------------------------------------------------
# Line lookup (tomllib gives no positions for values)

_HEADER_RE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"'-]+)\s*\]\s*(#.*)?$")
_KEY_RE = re.compile(r"^\s*(\"[^\"]+\"|'[^']+'|[A-Za-z0-9_-]+)\s*=")


class LineIndex:
    def __init__(self, text: str):
        self.positions: dict[tuple[str | None, str], int] = {}
        self.tables: dict[str, int] = {}
        table: str | None = None
        for lineno, line in enumerate(text.splitlines(), start=1):
            h = _HEADER_RE.match(line)
            if h:
                table = h.group(1).strip("\"'")
                self.tables.setdefault(table, lineno)
                continue
            k = _KEY_RE.match(line)
            if k:
                key = k.group(1).strip("\"'")
                self.positions.setdefault((table, key), lineno)

    def line(self, key: str, table: str | None = None) -> int | None:
        if table is None and key in self.tables and (None, key) not in self.positions:
            return self.tables[key]
        return self.positions.get((table, key))


def field_line(text: str, key: str) -> int | None:
    """The line of top-level ``key`` in TOML ``text`` (None if not written there)."""
    return LineIndex(text).line(key)


# ---------------------------------------------------------------------------
# Nesting: tomllib recurses once per level (500 nested arrays: RecursionError), and no profile
# value needs more than a list of strings or a table; refuse deep nesting before parsing.

MAX_NESTING = 16


def _skip_string(text: str, i: int) -> int:
    """Index just past the string starting at ``text[i]`` (a quote); len(text) if unterminated."""
    q = text[i]
    if text.startswith(q * 3, i):
        end, j = q * 3, i + 3
        multiline = True
    else:
        end, j = q, i + 1
        multiline = False
    while j < len(text):
        c = text[j]
        if q == '"' and c == "\\":
            j += 2
            continue
        if c == "\n" and not multiline:
            return j
        if text.startswith(end, j):
            return j + len(end)
        j += 1
    return j


def nesting_too_deep(text: str, limit: int = MAX_NESTING) -> int | None:
    """The 1-based line where arrays/inline tables nest deeper than ``limit``, else None."""
    depth, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            i = _skip_string(text, i)
            continue
        if c == "#":
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if c in "[{":
            depth += 1
            if depth > limit:
                return text.count("\n", 0, i) + 1
        elif c in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def _key_before(text: str, line: int) -> str | None:
    """The key assigned on ``line`` or the nearest line above it."""
    lines = text.splitlines()
    for ln in range(min(line, len(lines)), 0, -1):
        k = _KEY_RE.match(lines[ln - 1])
        if k:
            return k.group(1).strip("\"'")
    return None


def load_toml(text: str, file: str) -> dict[str, Any] | ProfileIssue:
    """``tomllib.loads(text)``, or the issue that stops it (syntax, nesting)."""
    deep = nesting_too_deep(text)
    if deep is not None:
        return ProfileIssue(
            file,
            _key_before(text, deep),
            f"arrays or tables nested more than {MAX_NESTING} deep; a profile value is at "
            'most a list of strings (extra_args = ["--flag", "value"]) or the table of an env section',
            deep,
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line = int(m.group(1)) if m else None
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        col = f", column {m.group(2)}" if m else ""
        return ProfileIssue(file, None, f"invalid TOML: {msg}{col}", line)
    except RecursionError:  # nesting the scan did not see (it skips what looks like strings)
        return ProfileIssue(file, None, "invalid TOML: nested too deeply to read")
