"""One engine's live log (tail -f in a worker), its phase/progress line and failure panel."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Log, Static
from textual.worker import get_current_worker

from llmops_tui.ui.threads import to_ui

if TYPE_CHECKING:
    from llmops_tui.supervisor.records import EngineRecord

LOG_LINE_CAP = 20_000  # lines kept in the view; older ones are dropped
FOLLOW_POLL_S = 0.1  # how often the follower looks for new lines
BATCH_LINES = 2_000  # at most this many lines per hop to the UI thread


def now() -> float:
    """The wall clock (one place, so that tests can fix it)."""
    return time.time()


def phase_line(rec: EngineRecord) -> str:
    """``ready · 127.0.0.1:8000 · up 1 m 40 s`` or the progress of a starting engine."""
    parts = [f"[b]{rec.phase}[/b]", f"{rec.host}:{rec.port}"]
    if rec.phase in ("starting", "loading") and rec.progress:
        parts.append(rec.progress)
    if rec.phase == "ready" and rec.ready_at:
        parts.append(f"ready in {format_duration(rec.ready_at - rec.started_at)}")
    elif rec.phase == "sleeping":
        parts.append("asleep: weights in host memory, serving nothing (w swaps it back in)")
    elif rec.phase in ("starting", "loading"):
        parts.append(f"{format_duration(now() - rec.started_at)} so far")
    if rec.phase == "failed" and rec.exit_code is not None:
        parts.append(f"exit code {rec.exit_code}")
    return " · ".join(parts)


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    m, s = divmod(seconds, 60)
    if m < 60:
        return f"{m} m {s} s"
    h, m = divmod(m, 60)
    return f"{h} h {m} m"


class LogView(Vertical):
    """A Log widget fed in batches by a thread that follows ``path``; ``/`` searches."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="log.search"),
        Binding("n", "next_match", "Next", tooltip="Next match", id="log.next_match"),
        Binding(
            "N",
            "previous_match",
            "Prev",
            key_display="N",
            tooltip="Previous match",
            id="log.previous_match",
        ),
        Binding(
            "f",
            "toggle_follow",
            "Follow",
            tooltip="Follow the log on/off",
            id="log.toggle_follow",
        ),
    ]

    def __init__(self, path: str | None, *, poll_s: float = FOLLOW_POLL_S, **kw: Any) -> None:
        super().__init__(**kw)
        self.path = path
        self.poll_s = poll_s
        self.matches: list[int] = []
        self.match_index = -1
        self.lines_received = 0

    def compose(self) -> ComposeResult:
        yield Log(max_lines=LOG_LINE_CAP, id="log")
        yield Input(
            placeholder="search the log (Enter; n/N next/previous, Esc close)", id="log-search"
        )
        yield Static("following", id="log-status")

    def on_mount(self) -> None:
        # <engine>/engine.log: the state dir's layout; the full path is in `llmops logs`.
        where = "/".join(Path(self.path).parts[-2:]) if self.path else "no log file"
        self.query_one(Log).border_title = where
        if self.path:
            self.follow()

    @work(thread=True, exclusive=True, group="logfollow")
    def follow(self) -> None:
        """Runs until the view closes: read new lines, hand them over in batches."""
        from llmops_tui.logfollow import LogFollower

        worker = get_current_worker()
        follower = LogFollower(self.path)
        while not worker.is_cancelled:
            lines = follower.read_new()
            if lines:
                for i in range(0, len(lines), BATCH_LINES):
                    if worker.is_cancelled:
                        return
                    to_ui(self, self.append_lines, lines[i : i + BATCH_LINES])
                continue  # more may be waiting: read again at once
            time.sleep(self.poll_s)

    def append_lines(self, lines: list[str]) -> None:
        self.lines_received += len(lines)
        self.query_one(Log).write_lines(lines)
        if not self.has_class("searching") and not self.matches:
            self._status()

    def _status(self, extra: str = "") -> None:
        log = self.query_one(Log)
        follow = "following" if log.auto_scroll else "paused (f follows)"
        text = f"{follow} · {log.line_count:,} lines shown"
        if extra:
            text += f" · {extra}"
        self.query_one("#log-status", Static).update(text)

    # -- search -----------------------------------------------------------

    def action_search(self) -> None:
        self.add_class("searching")
        self.query_one("#log-search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from llmops_tui.logfollow import find_matches

        event.stop()
        needle = event.value
        log = self.query_one(Log)
        self.matches = find_matches(list(log.lines), needle)
        self.remove_class("searching")
        log.focus()
        if not self.matches:
            self.match_index = -1
            self._status(f"no line contains '{needle}'")
            return
        log.auto_scroll = False
        self.match_index = len(self.matches) - 1  # the latest first
        self._show_match()

    def on_key(self, event) -> None:
        if event.key == "escape" and self.has_class("searching"):
            event.stop()
            self.remove_class("searching")
            self.query_one(Log).focus()

    def _show_match(self) -> None:
        log = self.query_one(Log)
        line = self.matches[self.match_index]
        log.scroll_to(y=max(0, line - log.size.height // 2), animate=False)
        text = log.lines[line]
        shown = text if len(text) <= 60 else text[:59] + "…"
        self._status(f"match {self.match_index + 1}/{len(self.matches)} line {line + 1}: {shown}")

    def action_next_match(self) -> None:
        if self.matches:
            self.match_index = (self.match_index + 1) % len(self.matches)
            self._show_match()

    def action_previous_match(self) -> None:
        if self.matches:
            self.match_index = (self.match_index - 1) % len(self.matches)
            self._show_match()

    def action_toggle_follow(self) -> None:
        log = self.query_one(Log)
        log.auto_scroll = not log.auto_scroll
        self.matches, self.match_index = [], -1
        if log.auto_scroll:
            log.scroll_end(animate=False)
        self._status()


class EngineLogScreen(Screen):
    """Full-screen log of one engine with its phase line and, once failed, the root cause."""

    BINDINGS = [Binding("escape,q", "close", "Back", id="log_screen.close")]

    def __init__(
        self,
        record: EngineRecord,
        get_record: Callable[[str], EngineRecord | None] | None = None,
        *,
        poll_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.record = record
        self.get_record = get_record
        self.poll_s = poll_s

    def compose(self) -> ComposeResult:
        yield Static(f"Engine {self.record.name} ({self.record.engine})", id="log-title")
        yield Static("", id="log-phase")
        yield Static("", id="root-cause")
        yield LogView(self.record.log_path, id="logview")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#root-cause", Static).border_title = "Why it failed"
        self.show_record(self.record)
        self.query_one(Log).focus()
        if self.get_record is not None and self.poll_s > 0:
            self.set_interval(self.poll_s, self.poll_record)

    @work(thread=True, exclusive=True, group="engine-record")
    def poll_record(self) -> None:
        try:
            rec = self.get_record(self.record.name)
        except Exception as exc:  # a broken state file: say so, keep the log
            to_ui(self, self.notify, str(exc), severity="error")
            return
        if rec is not None:
            to_ui(self, self.show_record, rec)

    def show_record(self, rec: EngineRecord) -> None:
        self.record = rec
        self.query_one("#log-phase", Static).update(phase_line(rec))
        failed = rec.phase == "failed"
        self.set_class(failed, "failed")
        if failed:
            cause = rec.root_cause or "the engine exited; no cause line was recognised in its log"
            self.query_one("#root-cause", Static).update(cause)

    def action_close(self) -> None:
        self.dismiss()
