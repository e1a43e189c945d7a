"""Reading an engine's log as it grows: progress line, startup-complete, root cause.

Each engine module defines an :class:`EngineLogRules` (its line prefix, the
lines that say how far loading got, the line that says the HTTP server is up,
the exception lines that only wrap the real cause). :class:`LogWatch` is fed
lines in order and keeps what the supervisor needs:

- ``progress``: a short human line ("loading weights 43% (3/7 shards)");
- ``startup_complete``: the engine printed its own "server is up" line;
- ``root_cause``: the first exception line that is not a generic wrapper
  (vLLM's worker ``ValueError: …``, not the final ``RuntimeError: Engine core
  initialization failed``);
- ``fatal``: a root-cause exception was printed inside an error traceback: the
  launch will not come up, so the supervisor can say ``failed`` (with that line)
  before the engine finishes dying;
- ``doomed``: the engine printed its own verdict ("WorkerProc failed to start")
  but the cause line may still be on its way; the supervisor gives it a moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# "ValueError: msg", "torch.OutOfMemoryError: msg", "Exception: msg" at the start of a
# (prefix-stripped) line; the message is required so "raise ValueError(" never matches.
EXCEPTION_RE = re.compile(
    r"^(?P<type>(?:[A-Za-z_]\w*\.)*(?:[A-Z]\w*(?:Error|Exception)|Exception|Error)):\s+(?P<msg>\S.*)$"
)
# "RuntimeError:" alone: the message follows on the next line(s) (multiprocessing's
# bootstrapping error is raised with a message that starts with a newline).
EXCEPTION_HEAD_RE = re.compile(r"^(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Exception)):\s*$")
TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)")
# CPython's multiprocessing, when a spawned child re-runs a launcher script that has no
# ``if __name__ == "__main__":`` guard and that script starts a process again.
SPAWN_BOOTSTRAP_RE = re.compile(r"^An attempt has been made to start a new process before the")
SPAWN_BOOTSTRAP_TEXT = (
    "An attempt has been made to start a new process before the current process has finished "
    "its bootstrapping phase: the script that launched the engine ran again inside the "
    "engine's spawned process (vLLM starts its engine core with spawn on GPUs); the script "
    'needs an `if __name__ == "__main__":` guard, as the console scripts pip writes have'
)
QUIET_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "WARN", "TRACE"})

Describe = Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class LogRule:
    """A log line that tells how far startup got."""

    pattern: re.Pattern[str]
    describe: Describe
    startup_complete: bool = False
    # When the progress line starts with this, the text is appended to it ("KV cache N tokens"
    # then, on the next line, ", max concurrency 68x"); otherwise it stands alone.
    extends: str | None = None


@dataclass(frozen=True)
class EngineLogRules:
    # Strips the engine's own line prefix; named groups ``level`` (optional).
    prefix: re.Pattern[str] | None
    progress: tuple[LogRule, ...]
    # Exception lines that wrap the real cause (never reported as the root cause).
    generic_errors: tuple[re.Pattern[str], ...] = ()
    # Lines that mean "this launch is dead" on their own (the engine's own verdict).
    fatal_markers: tuple[re.Pattern[str], ...] = ()
    # Exception lines seen inside these contexts count as fatal during startup.
    error_context: tuple[re.Pattern[str], ...] = (TRACEBACK_RE,)


def rule(
    pattern: str,
    describe: str | Describe,
    *,
    startup_complete: bool = False,
    extends: str | None = None,
) -> LogRule:
    """A rule whose text is a format string over the match groups, or a function."""
    rx = re.compile(pattern)
    if isinstance(describe, str):
        template = describe

        def fmt(m: re.Match[str]) -> str:
            return template.format(*m.groups(), **m.groupdict())

        return LogRule(rx, fmt, startup_complete, extends)
    return LogRule(rx, describe, startup_complete, extends)


def split_lines(text: str) -> list[str]:
    """Lines of a log chunk; tqdm's carriage-return redraws count as lines."""
    out: list[str] = []
    for line in text.split("\n"):
        for part in line.split("\r"):
            if part.strip():
                out.append(part)
    return out


# pydantic (vLLM's config classes): the header, then "[field]\n  Value error, msg [type=…]".
PYDANTIC_HEAD_RE = re.compile(r"ValidationError: \d+ validation errors? for \w+$")
PYDANTIC_DETAIL_RE = re.compile(r"^(?:Value error, |Assertion failed, )?(?P<msg>.+?) \[type=")


@dataclass
class LogWatch:
    rules: EngineLogRules
    progress: str | None = None
    startup_complete: bool = False
    root_cause: list[str] = field(default_factory=list)
    fatal: bool = False
    doomed: bool = False
    verdict_line: str | None = None
    lines_seen: int = 0
    _in_error_context: bool = False
    _pydantic_lines: int = 0  # lines left to find a pydantic ValidationError's message in
    _bare_head: str | None = None  # "RuntimeError:" seen alone: its message is on the next line
    _bare_level: str | None = None

    def feed_text(self, text: str) -> None:
        for line in split_lines(text):
            self.feed(line)

    def feed(self, raw: str) -> None:
        self.lines_seen += 1
        line = ANSI_RE.sub("", raw).rstrip()
        level: str | None = None
        body = line
        if self.rules.prefix is not None:
            m = self.rules.prefix.match(line)
            if m:
                level = m.groupdict().get("level")
                body = line[m.end() :]
        body = body.strip()
        if not body:
            return

        for r in self.rules.progress:
            pm = r.pattern.search(body)
            if pm:
                text = r.describe(pm)
                if r.extends and self.progress and self.progress.startswith(r.extends):
                    text = f"{self.progress}, {text}"
                self.progress = text
                if r.startup_complete:
                    self.startup_complete = True
                break

        if any(c.search(body) for c in self.rules.error_context):
            self._in_error_context = level is None or level not in QUIET_LEVELS

        for marker in self.rules.fatal_markers:
            if marker.search(body):
                self.doomed = True
                self.verdict_line = self.verdict_line or body
                break

        if self._pydantic_lines:
            self._pydantic_detail(body)
        if self._bare_head is not None:
            head, self._bare_head = self._bare_head, None
            msg = SPAWN_BOOTSTRAP_TEXT if SPAWN_BOOTSTRAP_RE.match(body) else body
            self._exception(f"{head}: {msg}", level or self._bare_level)
            return
        hm = EXCEPTION_HEAD_RE.match(body)
        if hm:
            self._bare_head, self._bare_level = hm.group("type"), level
            return
        self._exception(body, level)

    def _exception(self, body: str, level: str | None) -> None:
        em = EXCEPTION_RE.match(body)
        if em and (level is None or level not in QUIET_LEVELS):
            if any(g.search(body) for g in self.rules.generic_errors):
                return
            if not self.root_cause:
                self.root_cause.append(body)
                if PYDANTIC_HEAD_RE.search(body):
                    self._pydantic_lines = 3
            if self._in_error_context:
                self.fatal = True

    def _pydantic_detail(self, body: str) -> None:
        """``ValidationError: 1 validation error for ModelConfig`` says nothing: its message is
        on a following line (``Value error, Sleep mode is not supported on current platform.
        [type=value_error, …]``); the root cause becomes the header with that message."""
        self._pydantic_lines -= 1
        m = PYDANTIC_DETAIL_RE.match(body)
        if m:
            self.root_cause[0] = f"{self.root_cause[0]}: {m.group('msg')}"
            self._pydantic_lines = 0

    @property
    def explanation(self) -> str | None:
        """What to show a user for a failed launch: the root cause, else the engine's verdict."""
        if self.root_cause:
            return self.root_cause[0]
        return self.verdict_line


def scan(rules: EngineLogRules, text: str) -> LogWatch:
    watch = LogWatch(rules)
    watch.feed_text(text)
    return watch
