"""The Load test tab's Bake-off pane: pick profiles and a suite, run the bake-off in a
worker thread (its own event loop), follow its progress, see the final tables.

A thin view over :class:`llmops_tui.bench.bakeoff.Bakeoff`; the report text is
:func:`llmops_tui.bench.bakeoff_report.format_report`.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from llmops_tui.ui.quitsafe import QuitSafeSelect
from llmops_tui.ui.threads import to_ui
from llmops_tui.ui.toggles import MarkedSelectionList

MAX_EVENTS = 8


class BakeoffPanel(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bakeoff_loop: asyncio.AbstractEventLoop | None = None
        self._bakeoff_stop: asyncio.Event | None = None
        self._bakeoff_running = False
        self._event_lines: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="bo-form"):
            yield MarkedSelectionList[str](id="bo-profiles")
            with Vertical(id="bo-side"):
                yield Label("Suite")
                yield QuitSafeSelect([], allow_blank=True, id="bo-suite")
                with Horizontal(id="bo-options"):
                    with Vertical(classes="bo-field"):
                        yield Label("Report folder")
                        yield Input(placeholder="data dir/bakeoffs/ID", id="bo-out", compact=True)
                        yield Static("", id="bo-out-err", classes="field-error")
                    with Vertical(classes="bo-field"):
                        yield Label("Ready in (s)")
                        yield Input(placeholder="900", id="bo-ready-timeout", compact=True)
                        yield Static("", id="bo-ready-timeout-err", classes="field-error")
                with Horizontal(id="bo-buttons"):
                    yield Button("Start bake-off", id="bo-start", variant="success")
                    yield Button("Stop", id="bo-stop", variant="error", disabled=True)
        yield Static(
            "Tick two or more profiles and pick a suite. Each engine is launched, "
            "benchmarked and stopped in turn.",
            id="bo-message",
        )
        yield Static("", id="bo-events")
        with VerticalScroll(id="bo-report-scroll"):
            yield Static("", id="bo-report")

    def on_mount(self) -> None:
        self.load_choices()

    @work(thread=True, exclusive=True, group="bo-choices")
    def load_choices(self) -> None:
        from llmops_tui.bench.suite import list_suites
        from llmops_tui.profiles.store import list_profiles

        profiles = [e.name for e in list_profiles() if e.profile is not None]
        suites = [name for name, _ in list_suites()]
        to_ui(self, self.set_choices, profiles, suites)

    def set_choices(self, profiles: list[str], suites: list[str]) -> None:
        sel = self.query_one("#bo-profiles", SelectionList)
        sel.clear_options()
        sel.add_options([(n, n) for n in profiles])
        suite = self.query_one("#bo-suite", Select)
        suite.set_options([(n, n) for n in suites])
        if "standard" in suites:
            suite.value = "standard"
        elif suites:
            suite.value = suites[0]

    def _message(self, text: str, error: bool = False) -> None:
        msg = self.query_one("#bo-message", Static)
        msg.update(text)
        msg.set_class(error, "error")

    def add_event(self, text: str) -> None:
        self._event_lines = [*self._event_lines, text][-MAX_EVENTS:]
        self.query_one("#bo-events", Static).update("\n".join(self._event_lines))

    @property
    def running(self) -> bool:
        """A bake-off is in progress (started here, not finished)."""
        return self._bakeoff_running

    @property
    def events(self) -> list[str]:
        """The last progress lines shown."""
        return list(self._event_lines)

    def _set_running(self, running: bool) -> None:
        self._bakeoff_running = running
        self.query_one("#bo-start", Button).disabled = running
        self.query_one("#bo-stop", Button).disabled = not running

    @on(Button.Pressed, "#bo-start")
    def start(self) -> None:
        if self._bakeoff_running:
            return
        from llmops_tui.bench.form import FormError, parse_bakeoff_form

        names = list(self.query_one("#bo-profiles", SelectionList).selected)
        suite = self.query_one("#bo-suite", Select).value
        for wid in ("bo-out-err", "bo-ready-timeout-err"):
            err = self.query_one(f"#{wid}", Static)
            err.update("")
            err.remove_class("shown")
        try:
            plan = parse_bakeoff_form(
                names,
                None if suite is Select.NULL or suite is None else str(suite),
                self.query_one("#bo-out", Input).value,
                self.query_one("#bo-ready-timeout", Input).value,
            )
        except FormError as exc:
            for field, wid in (
                ("out_dir", "bo-out-err"),
                ("ready_timeout", "bo-ready-timeout-err"),
            ):
                if field in exc.by_field:
                    err = self.query_one(f"#{wid}", Static)
                    err.update(exc.by_field[field])
                    err.add_class("shown")
            self._message("\n".join(exc.errors), error=True)
            return
        self._event_lines = []
        self.query_one("#bo-report", Static).update("")
        self._set_running(True)
        self._message(f"Bake-off of {', '.join(plan.profiles)} with suite '{plan.suite}'…")
        self.run_bakeoff(plan)

    @on(Button.Pressed, "#bo-stop")
    def stop(self) -> None:
        if self._bakeoff_loop is not None and self._bakeoff_stop is not None:
            self._bakeoff_loop.call_soon_threadsafe(self._bakeoff_stop.set)
            self._message("Stopping: the running engine is being stopped; what is done is kept…")

    @work(thread=True, exclusive=True, group="bo-run")
    def run_bakeoff(self, plan) -> None:
        """Load profiles and suite, run the bake-off, write the report files, in this thread."""
        from llmops_tui.bench.bakeoff import Bakeoff
        from llmops_tui.bench.store import ResultStore
        from llmops_tui.bench.suite import find_suite
        from llmops_tui.config import paths
        from llmops_tui.profiles.store import find_profile

        def event(msg: str) -> None:
            to_ui(self, self.add_event, msg)

        async def main():
            self._bakeoff_loop = asyncio.get_running_loop()
            self._bakeoff_stop = asyncio.Event()
            bake = Bakeoff(
                [find_profile(n) for n in plan.profiles],
                find_suite(plan.suite),
                store=ResultStore(paths().results_db),
                on_event=event,
                stop=self._bakeoff_stop,
                ready_timeout=plan.ready_timeout,
            )
            return await bake.run()

        try:
            from llmops_tui.bench.bakeoff_report import write_report_files
            from llmops_tui.bench.eventloop import run as run_loop

            result, error = run_loop(main()), None
            out = plan.out_dir or paths().data / "bakeoffs" / f"bakeoff-{result.id or 'unsaved'}"
            try:
                files = write_report_files(result, out)
                event(f"report files: {files['markdown'].parent}/bakeoff.{{md,csv,json}}")
            except OSError as exc:
                event(f"cannot write the report files in {out}: {exc}")
        except Exception as exc:  # bad profile/suite file, database: shown, never a traceback
            result, error = None, f"bake-off failed: {exc}"
        finally:
            self._bakeoff_loop = None
        if threading.current_thread() is threading.main_thread():  # pragma: no cover
            self.show_result(result, error)
        else:
            to_ui(self, self.show_result, result, error)

    def show_result(self, result: Any, error: str | None = None) -> None:
        """The final tables (also used by tests with a hand-made result)."""
        from llmops_tui.bench.bakeoff_report import format_report

        self._set_running(False)
        if error or result is None:
            self._message(error or "bake-off failed", error=True)
            return
        ok = sum(1 for e in result.engines if e.status == "ok")
        head = "Partial bake-off" if result.partial else "Bake-off done"
        stored = f" · stored as bake-off #{result.id}" if result.id is not None else ""
        if result.store_problem:  # the events name the files its runs were kept in
            stored = f" · NOT stored: {result.store_problem}"
        self._message(f"{head}{stored}: {ok}/{len(result.engines)} engines completed the suite")
        self.query_one("#bo-report", Static).update(format_report(result))
