"""Load test tab: target + workload form, start/stop, live plots, final table, history and compare.

A thin view over ``llmops_tui.bench``: the run itself goes on in a thread with
its own asyncio loop (so drawing the screen never delays the timestamps); that loop
posts the run's :class:`~llmops_tui.bench.live.LiveView` to the tab twice a second (a
``LoadTestProgress`` message: a tab busy drawing gets only the latest).
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import MountError
from textual.widgets import (
    Button,
    DataTable,
    Input,
    ProgressBar,
    Select,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
)

from llmops_tui.ui.messages import EngineRecords, LoadTestProgress, ReadyEngines
from llmops_tui.ui.tabs.bakeoff_panel import BakeoffPanel
from llmops_tui.ui.tabs.loadtest_form import CUSTOM, LoadTestForm
from llmops_tui.ui.tabs.loadtest_history import HISTORY_HELP, RunsHistory, RunsTable, fmt_number
from llmops_tui.ui.tabs.loadtest_live import LiveProgress
from llmops_tui.ui.tabs.loadtest_sweep import SWEEP_TIP, SweepRunner
from llmops_tui.ui.threads import alive, to_ui

if TYPE_CHECKING:
    from llmops_tui.bench.live import LiveRun
    from llmops_tui.bench.telemetry import TelemetrySampler

__all__ = ["CUSTOM", "LoadTestTab"]
METRIC_ROWS = (
    ("TTFT", "ttft_ms"),
    ("TPOT", "tpot_ms"),
    ("ITL", "itl_ms"),
    ("E2E latency", "e2el_ms"),
)


class LoadTestTab(LiveProgress, SweepRunner, RunsHistory, Vertical):
    def __init__(self, sender_factory: Any = None, **kwargs: Any) -> None:
        """``sender_factory``: see :data:`llmops_tui.bench.session.SenderFactory` (tests pass a
        fake stream; by default requests go over HTTP to the target)."""
        super().__init__(**kwargs)
        self._sender_factory = sender_factory
        self._form: LoadTestForm | None = None
        self._shown_before = False
        self._target_choices: list | None = None
        self._ready_engines = ReadyEngines()  # engines ready at the last EngineRecords
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._live: LiveRun | None = None
        self._sampler: TelemetrySampler | None = None  # None with a fake sender
        self._marked: list[int] = []
        self._bench_running = False

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        with TabbedContent(id="lt-tabs"):
            with TabPane("Run", id="lt-run"), VerticalScroll():
                # The form (~140 widgets) is mounted here when the tab is first shown: an app
                # that never opens this tab does not pay for it (see build_form).
                yield Vertical(id="lt-form-slot")
                with Horizontal(id="lt-buttons"):
                    yield Button("Start", id="lt-start", variant="success", compact=True)
                    yield Button("Stop", id="lt-stop", variant="error", disabled=True, compact=True)
                    yield Button("Sweep", id="lt-sweep-btn", compact=True, tooltip=SWEEP_TIP)
                yield Static(
                    "Pick a target (running engines first) or type a base URL and model, "
                    "optionally a preset, then Start (Ctrl+G).",
                    id="lt-message",
                    markup=False,  # server errors and paths shown as they are
                )
                with Horizontal(id="lt-progress-row"):
                    yield ProgressBar(total=100, show_eta=False, id="lt-progress")
                yield Static("", id="lt-status")
                # The results table right under the summary: with the engine's plots (issue 18)
                # below the client's, a table after them sat below the fold at 100×30.
                results = DataTable(id="lt-results", show_cursor=False, zebra_stripes=True)
                results.add_columns("metric", "mean", "p50", "p90", "p95", "p99")
                yield results
                yield Static("Output tokens/s", classes="plot-label", id="lt-tput-label")
                yield Sparkline([], summary_function=max, id="lt-tput")
                yield Static(
                    "TTFT (ms), by request start", classes="plot-label", id="lt-ttft-label"
                )
                yield Sparkline([], summary_function=max, id="lt-ttft")
                from llmops_tui.bench.telemetry import LIVE_PLOTS  # plain data

                with Horizontal(id="lt-engine-plots"):  # the engine's side: /metrics, NVML
                    for key, label, _ in LIVE_PLOTS:
                        with Vertical(classes="engine-plot"):
                            yield Static(label, classes="plot-label", id=f"lt-{key}-label")
                            yield Sparkline([], summary_function=max, id=f"lt-{key}")
                yield DataTable(id="lt-sweep", show_cursor=False, zebra_stripes=True)
            with TabPane("History", id="lt-history"):
                yield Static(HISTORY_HELP, id="lt-history-help", markup=False)
                runs = RunsTable(id="lt-runs", cursor_type="row", zebra_stripes=True)
                runs.add_column("", width=1, key="mark")  # fixed: "●" set later must show
                runs.add_columns(
                    "ID",
                    "when",
                    "status",
                    "model",
                    "workload",
                    "conc",
                    "ok/fail",
                    "tok/s",
                    "TTFT p50",
                    "goodput",
                )
                yield runs
                with Horizontal(classes="row"):
                    yield Button("Compare marked", id="lt-compare-btn")
                    yield Button("Reload", id="lt-reload")
                yield DataTable(id="lt-compare", show_cursor=False, zebra_stripes=True)
            with TabPane("Bake-off", id="lt-bakeoff"):
                yield BakeoffPanel(id="lt-bakeoff-panel")

    BINDINGS = [
        Binding("ctrl+g", "start", "Start run", id="loadtest.start"),
        Binding("escape", "stop", "Stop run", show=False, id="loadtest.stop"),
        # The sub-tabs by key (the mouse was the only way): Run → History → Bake-off → Run.
        Binding(
            "ctrl+t",
            "next_pane",
            "Panes",
            key_display="^t",
            tooltip="Next pane: Run, History, Bake-off",
            id="loadtest.next_pane",
        ),
    ]
    PANES = ("lt-run", "lt-history", "lt-bakeoff")

    def action_next_pane(self) -> None:
        inner = self.query_one("#lt-tabs", TabbedContent)
        i = self.PANES.index(inner.active) if inner.active in self.PANES else -1
        self.action_show_pane(self.PANES[(i + 1) % len(self.PANES)])

    def action_show_pane(self, pane: str) -> None:
        inner = self.query_one("#lt-tabs", TabbedContent)
        if inner.active != pane:
            self.app.screen.set_focus(None)  # focus left in the pane hidden would switch back
            inner.active = pane
        self.call_after_refresh(self.take_focus)

    def action_start(self) -> None:
        if self.query_one("#lt-tabs", TabbedContent).active == "lt-run":
            self.start()

    def action_stop(self) -> None:
        if self._bench_running:
            self.stop()

    def on_mount(self) -> None:
        self.load_profiles()
        self.load_runs()

    def on_show(self) -> None:
        self.build_form()
        if self._shown_before:
            self.load_profiles()  # engines started or stopped since: offer them as they are
        self._shown_before = True

    @on(EngineRecords)
    def _engines_changed(self, event: EngineRecords) -> None:
        """An engine became ready or stopped being ready (relayed by the app): offer the
        targets as they are now; not during a run (the next poll tries again)."""
        if self._ready_engines.changed(event, defer=self._bench_running):
            self.load_profiles()

    def build_form(self) -> None:
        """Mount the Run form (once); targets found meanwhile are handed to it."""
        if self._form is not None or not alive(self):
            return
        self._form = LoadTestForm(id="lt-form", targets=self._target_choices)
        try:
            self.query_one("#lt-form-slot").mount(self._form)
        except MountError:  # the app quit while the tab was being shown
            if alive(self):
                raise

    def take_focus(self, tries: int = 20) -> None:
        """Ctrl+G, Esc and History's keys work once focus is inside the tab: when it is
        shown, the sub-tab in view takes it (Run: the target; History: the runs table;
        Bake-off: its first field). Focus in a hidden sub-tab would switch to it."""
        focused = self.app.focused
        if focused is not None and self in focused.ancestors:
            return
        inner = self.query_one("#lt-tabs", TabbedContent)
        pane = inner.active_pane
        if inner.active == "lt-run":
            if not self.form_ready:
                if tries and alive(self):
                    self.call_after_refresh(self.take_focus, tries - 1)
                return
            self.form.query_one("#lt-profile").focus()
        elif pane is not None:
            focusable = [w for w in pane.query("*") if w.focusable]
            # Not a text field first: there the tab's letter keys and 1…5 would type.
            first = next((w for w in focusable if not isinstance(w, Input)), None)
            if first is not None or focusable:
                (first or focusable[0]).focus()

    @property
    def form_ready(self) -> bool:
        return self._form is not None and self._form.is_mounted

    # ------------------------------------------------------------------ profiles and runs
    @work(thread=True, exclusive=True, group="lt-profiles")
    def load_profiles(self) -> None:
        """Targets: running engines first (where they really run), then the other profiles."""
        from llmops_tui.bench.form import target_choices

        try:
            choices = target_choices()
        except Exception:  # a broken profile dir must not break the tab: custom URL still works
            choices = []
        to_ui(self, self._set_targets, choices)

    def _set_targets(self, choices: list) -> None:
        self._target_choices = choices
        if self.form_ready:
            self.form.set_targets(choices)
        elif self._form is not None:  # built, not mounted yet: it takes them on mount
            self._form._pending_targets = choices

    @property
    def form(self) -> LoadTestForm:
        if self._form is None:
            raise LookupError("the Load test form is built when the tab is first shown")
        return self._form

    # ------------------------------------------------------------------ form
    @on(Select.Changed, "#lt-preset")
    def _preset_picked(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        from llmops_tui.bench.workload import SCENARIO_NOTES

        note = SCENARIO_NOTES.get(str(event.value), "")
        self._message(
            f"Preset {event.value}: {note}. Fields filled; edit any of them before Start."
        )

    def form_values(self) -> dict[str, Any]:
        return self.form.values()

    def _message(self, text: str, error: bool = False) -> None:
        msg = self.query_one("#lt-message", Static)
        msg.update(text)
        msg.set_class(error, "error")

    # ------------------------------------------------------------------ run
    @on(Button.Pressed, "#lt-start")
    def start(self) -> None:
        from llmops_tui.bench.live import LiveRun

        plan = self.checked_plan()
        if plan is None:
            return
        self._sampler = None  # made in the worker (it asks the supervisor for the engine's pids)
        self._live = LiveRun()
        self._live.total = None if plan.shape.duration_s else plan.spec.num_requests
        self._set_running(True)
        self._message(
            f"Running against {plan.target.base_url} ({plan.target.model})… "
            "Esc or Stop ends it early, keeping what finished."
        )
        self.query_one("#lt-results", DataTable).clear()
        # the form is tall: bring the buttons, progress and plots into view
        self.query_one("#lt-buttons").scroll_visible(top=True, animate=False)
        self.run_bench(plan)

    def checked_plan(self):
        """The form's RunPlan, or None with each bad field named (also used by Sweep)."""
        from llmops_tui.bench.plan import build_plan

        if self._bench_running:
            return None
        if not self.form_ready:
            self.build_form()
            self._message("Fill in the form, then Start.")
            return None
        plan = build_plan(self.form_values())  # a preset is in the fields already
        if isinstance(plan, list):
            by_field = {e.field: e.message for e in plan}
            self.form.show_errors(by_field)
            n = len(by_field)
            names = ", ".join(self.form.labels.get(f, f) for f in by_field)
            where = "the messages under them" if n > 1 else "the message under it"
            self._message(
                f"{n} field{'s' if n > 1 else ''} to fix (see {where}): {names}", error=True
            )
            return None
        self.form.clear_errors()
        return plan

    @on(Button.Pressed, "#lt-stop")
    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._message("Stopping: keeping what finished…")

    @on(Button.Pressed, "#lt-sweep-btn")
    def _sweep_pressed(self) -> None:
        self.start_sweep()

    @on(Button.Pressed, "#lt-compare-btn")
    def _compare_pressed(self) -> None:
        self.action_compare()

    @on(Button.Pressed, "#lt-reload")
    def _reload_pressed(self) -> None:
        self.load_runs()

    def _set_running(self, running: bool) -> None:
        self._bench_running = running
        self.query_one("#lt-start", Button).disabled = running
        self.query_one("#lt-stop", Button).disabled = not running

    @work(thread=True, exclusive=True, group="lt-bench")
    def run_bench(self, plan) -> None:
        """The whole run in this worker thread, on its own event loop."""
        from llmops_tui.bench.session import execute, resolve_tokenizer
        from llmops_tui.bench.store import ResultStore
        from llmops_tui.bench.workload import TokenizerError
        from llmops_tui.config import paths

        live = self._live
        if self._sender_factory is None:
            from llmops_tui.bench.telemetry import sampler_for

            self._sampler = sampler_for(plan.target)

        async def main():
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            tokenizer = resolve_tokenizer(plan.spec, plan.target)
            ticker = asyncio.create_task(self.post_progress())
            try:
                return await run(tokenizer)
            finally:
                ticker.cancel()

        async def run(tokenizer):
            return await execute(
                plan.target,
                plan.spec,
                plan.shape,
                tokenizer=tokenizer,
                slo=plan.slo,
                stop=self._stop,
                on_record=live.on_record,
                store=ResultStore(paths().results_db),
                label=plan.label,
                timeout=plan.timeout,
                sender_factory=self._sender_factory,
                sampler=self._sampler,
            )

        try:
            from llmops_tui.bench.eventloop import run as run_loop

            outcome = run_loop(main())
            error = None
        except TokenizerError as exc:  # the tokenizer field names something unusable
            outcome, error = None, f"tokenizer: {exc}"
        except Exception as exc:  # shown in the tab, never a traceback
            outcome, error = None, f"run failed: {exc}"
        finally:
            self._loop = None
        if threading.current_thread() is threading.main_thread():  # pragma: no cover
            self._finish(outcome, error)
        else:
            to_ui(self, self._finish, outcome, error)

    @on(LoadTestProgress)
    def _progress(self, event: LoadTestProgress) -> None:
        if self._bench_running:  # a late one after the run ended stays unshown
            self.show_live(event.view)

    def _finish(self, outcome, error: str | None) -> None:
        self.refresh_live()
        self._set_running(False)
        if error or outcome is None:
            if error and error.startswith("tokenizer: "):
                self.form.show_errors({"tokenizer": error.removeprefix("tokenizer: ")})
            self._message(error or "run failed", error=True)
            return
        self.show_summary(
            outcome.summary,
            outcome.result.partial,
            outcome.result.reason,
            outcome.run_id,
            saved=outcome.saved,
        )
        self.load_runs()

    def show_summary(
        self,
        summary: dict,
        partial: bool = False,
        reason: str | None = None,
        run_id: int | None = None,
        saved=None,
    ) -> None:
        """The final table (also used by tests with a hand-made summary).

        ``saved`` (bench.fallback.Saved) says where a run the database could not take went."""
        from llmops_tui.bench.report import chunk_note, goodput_text, telemetry_line

        table = self.query_one("#lt-results", DataTable)
        table.clear()
        for label, key in METRIC_ROWS:
            d = summary.get(key) or {}
            table.add_row(
                f"{label} (ms)",
                *(fmt_number(d.get(k)) for k in ("mean", "p50", "p90", "p95", "p99")),
            )
        s = summary
        head = "Partial run" + (f" ({reason})" if reason else "") if partial else "Done"
        stored = f" · stored as run #{run_id}" if run_id is not None else ""
        lines = [
            f"{head}{stored}: {s.get('completed', 0)} completed, {s.get('failed', 0)} failed "
            f"in {fmt_number(s.get('duration_s'))} s",
            f"{fmt_number(s.get('request_throughput'))} req/s · "
            f"{fmt_number(s.get('output_throughput'), 1)} output tok/s · "
            f"{fmt_number(s.get('total_token_throughput'), 1)} total tok/s",
        ]
        for extra in (goodput_text(s), chunk_note(s), telemetry_line(s.get("telemetry"))):
            if extra:
                lines.append(extra)
        for err, n in list((s.get("errors") or {}).items())[:3]:
            lines.append(f"failed ×{n}: {err}")
        not_stored = saved is not None and not saved.stored
        if not_stored:
            from llmops_tui.config import paths

            lines += saved.lines(paths().results_db)
        failed = bool(s.get("failed")) and not s.get("completed")
        self._message("\n".join(lines), error=failed or not_stored)
        # The results sat below the fold at 100×30: bring the summary to the top of the
        # pane, with the table and then the plots under it.
        message = self.query_one("#lt-message", Static)
        self.call_after_refresh(message.scroll_visible, top=True, animate=False)
