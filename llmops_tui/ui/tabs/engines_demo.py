"""The demo, from the Engines tab: every step of ``llmops demo`` (engine env, tiny model,
``demo`` profile, start, ready) in a window with its live output; once the engine is ready
the app lands on the Chat tab, talking to it."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, RichLog, Static

from llmops_tui.ui.threads import to_ui

if TYPE_CHECKING:
    from textual.widgets.data_table import ColumnKey

    from llmops_tui.demo.setup import DemoHooks, DemoResult
    from llmops_tui.launchable import Launchability
    from llmops_tui.profiles.store import ProfileEntry

OFFER = (
    "Nothing launches here: d starts the demo (vLLM CPU + a tiny model; first run installs ~3.5 GB)"
)


class LaunchHere:
    """The Engines tab's part: whether each profile can launch here, and the demo key."""

    here: dict[str, Launchability]
    entries: dict[str, ProfileEntry]
    _status_col: ColumnKey

    def _check_here(self, entries: list[ProfileEntry]) -> None:
        """Run in the profiles worker: the checks probe interpreters (subprocesses)."""
        from llmops_tui.launchable import launchability_all

        here = launchability_all([e.profile for e in entries if e.profile is not None])
        to_ui(self, self._show_launchability, here)

    def _here_text(self, entry: ProfileEntry) -> str | None:
        """Why ``entry`` cannot launch here (and the demo offer when nothing can); None: it can."""
        from llmops_tui.ui.tabs.engines_rows import short as _short

        h = self.here.get(entry.name)
        if h is None or h.ok:
            return None
        text = _short(f"cannot launch here: {'; '.join(h.reasons)}", 96)
        nothing = not any(x.ok for x in self.here.values())
        return f"{text}\n{OFFER}" if nothing else text

    def _show_launchability(self, here: dict[str, Launchability]) -> None:
        self.here = here
        table = self.query_one("#profiles", DataTable)
        for name in here:
            entry = self.entries.get(name)
            if entry is not None and entry.profile is not None:
                table.update_cell(
                    name, self._status_col, self._status_text(entry), update_width=True
                )
        self._show_profile_detail(self.highlighted_profile_name())

    def _status_text(self, entry: ProfileEntry) -> str:
        warnings = sum(1 for i in entry.issues if i.severity == "warning")
        h = self.here.get(entry.name)
        text = (
            "valid, checking…" if h is None else ("✓ launchable" if h.ok else f"valid · {h.short}")
        )
        return text + (f" ({warnings} warn.)" if warnings else "")

    def action_demo(self) -> None:
        from llmops_tui.ui.tabs.engines_demo import DemoScreen

        def done(result: DemoResult | None) -> None:
            self.load_profiles()
            self.refresh_records()
            if result is not None:
                self.app.notify(f"demo ready on {result.base_url}", title="Engine ready")
                show_chat = getattr(self.app, "show_ready_chat", None)
                if show_chat is not None:
                    show_chat()

        self.app.push_screen(DemoScreen(getattr(self.app, "demo_hooks", None)), done)


class DemoScreen(ModalScreen["DemoResult | None"]):
    """Runs the demo's steps in a thread; dismisses with the DemoResult once ready."""

    BINDINGS = [Binding("escape", "close", "Close", id="demo.close")]

    def __init__(self, hooks: DemoHooks | None = None) -> None:
        super().__init__()
        self.hooks = hooks
        self.cancel = threading.Event()
        self.done = False
        self.lines: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Demo: a real engine on this box"
            yield RichLog(id="demo-log", wrap=True, markup=False, highlight=False)
            yield Static("working… (Esc stops waiting)", id="demo-status")

    def on_mount(self) -> None:
        self.run_steps()

    def say(self, line: str) -> None:
        self.lines.append(line)
        self.query_one("#demo-log", RichLog).write(line)

    @work(thread=True, exclusive=True, group="demo")
    def run_steps(self) -> None:
        from llmops_tui.demo.setup import DemoError, run_demo

        def say(line: str) -> None:
            to_ui(self, self.say, line)

        try:
            result = run_demo(say, self.hooks, cancel=self.cancel)
        except DemoError as exc:
            to_ui(self, self._failed, str(exc))
            return
        except Exception as exc:  # worded, never a traceback
            to_ui(self, self._failed, f"{type(exc).__name__}: {exc}")
            return
        to_ui(self, self._ready, result)

    def _failed(self, text: str) -> None:
        self.done = True
        self.say(f"failed: {text}")
        self.query_one("#demo-status", Static).update(
            "[b red]the demo did not start[/] (above: which step and why) · Esc closes"
        )

    def _ready(self, result: DemoResult) -> None:
        self.done = True
        self.dismiss(result)

    def action_close(self) -> None:
        if not self.done:
            self.cancel.set()  # an env install stops; a starting engine keeps starting
        self.dismiss(None)
