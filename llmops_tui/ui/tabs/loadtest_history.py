"""The Load test tab's History: stored runs, marks, side-by-side compare, export.

A mixin of :class:`~llmops_tui.ui.tabs.loadtest.LoadTestTab` (it composes ``#lt-runs``,
``#lt-compare`` and ``#lt-history-help`` and holds ``_marked``); reading the results
database and exporting run in threads.
"""

from __future__ import annotations

import math
import time
from typing import Any

from rich.markup import escape
from textual import work
from textual.binding import Binding
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from llmops_tui.ui.tables import cursor_row_key
from llmops_tui.ui.threads import to_ui


def fmt_number(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    from llmops_tui.bench.report import precise

    return precise(x, digits, grouping=True)


def _when(epoch: float) -> str:
    """``14:05`` for a run of today, ``09-21 14:05`` otherwise (History is narrow)."""
    t = time.localtime(epoch)
    same_day = time.strftime("%Y-%m-%d", t) == time.strftime("%Y-%m-%d")
    return time.strftime("%H:%M" if same_day else "%m-%d %H:%M", t)


ENDPOINT_SHORT = {"completions": "compl"}
STATUS_SHORT = {"complete": "done"}


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


class RunsTable(DataTable):
    """History's list of runs; its keys act on the Load test tab (shown only while it has focus)."""

    BINDINGS = [
        # Short footer labels (at 100 columns the long ones pushed Help and Quit off the
        # footer); the tooltips, also in F1 help and the palette, say them in full.
        Binding(
            "space",
            "tab_action('toggle_mark')",
            "Mark",
            tooltip="Mark run",
            id="history.toggle_mark",
        ),
        Binding(
            "c",
            "tab_action('compare')",
            "Compare",
            tooltip="Compare marked",
            id="history.compare",
        ),
        Binding(
            "e",
            "tab_action('export_run')",
            "Export",
            tooltip="Export run",
            id="history.export_run",
        ),
        Binding(
            "r",
            "tab_action('reload_runs')",
            "Reload",
            tooltip="Reload runs",
            show=False,
            id="history.reload_runs",
        ),
    ]

    def action_tab_action(self, name: str) -> None:
        tab = next(a for a in self.ancestors if isinstance(a, RunsHistory))
        getattr(tab, f"action_{name}")()


HISTORY_HELP = (
    "Space marks a run, c compares the marked runs (2 or more, any engines), "
    "e exports the highlighted run (JSON + CSV), r reloads."
)


class RunsHistory:
    """History's behaviour, mixed into the Load test tab."""

    _marked: list[int]
    _runs: dict[int, Any]

    @work(thread=True, exclusive=True, group="lt-runs")
    def load_runs(self) -> None:
        from llmops_tui.bench.fallback import kept_runs_note, store_problem
        from llmops_tui.bench.store import ResultStore
        from llmops_tui.config import paths

        db = paths().results_db
        try:
            runs = ResultStore(db).list_runs(limit=200)
            error = None
        except Exception as exc:  # a broken or newer database: say so, keep going
            runs, error = [], f"cannot read results: {store_problem(db, exc)}"
        note = kept_runs_note(db)  # runs the database could not take are not forgotten
        if note:
            error = f"{error}\n{note}" if error else note
        if get_current_worker().is_cancelled:  # a newer load started (r, a run ended): it tells
            return
        to_ui(self, self._show_runs, runs, error)

    def _show_runs(self, runs: list, error: str | None) -> None:
        self._runs = {r.id: r for r in runs}
        table = self.query_one("#lt-runs", DataTable)
        table.clear()
        for r in runs:
            s = r.summary
            table.add_row(
                "●" if r.id in self._marked else "",
                str(r.id),
                _when(r.created_at),
                STATUS_SHORT.get(r.status, r.status),
                escape(_cut(str(r.target.get("model", "?")), 11)),  # as typed; whole in Compare
                # short: at 100 columns the last column (goodput) was cut
                f"{ENDPOINT_SHORT.get(r.workload.get('endpoint'), r.workload.get('endpoint'))} "
                f"{r.workload.get('input_len')}/{r.workload.get('output_len')}",
                str(r.load.get("concurrency") or "∞"),
                f"{s.get('completed', 0)}/{s.get('failed', 0)}",
                fmt_number(s.get("output_throughput"), 0),
                fmt_number((s.get("ttft_ms") or {}).get("p50"), 1),
                fmt_number(s.get("goodput")),
                key=str(r.id),
            )
        help_ = self.query_one("#lt-history-help", Static)
        if error:
            help_.update(error)
            self._history_problem = True
        elif getattr(self, "_history_problem", False):  # fixed since: the usual help again
            help_.update(HISTORY_HELP)
            self._history_problem = False

    def action_reload_runs(self) -> None:
        self.load_runs()

    def action_toggle_mark(self) -> None:
        table = self.query_one("#lt-runs", DataTable)
        key = cursor_row_key(table) if table.has_focus else None
        if key is None:
            return
        run_id = int(key)
        if run_id in self._marked:
            self._marked.remove(run_id)
        else:
            self._marked.append(run_id)
        table.update_cell(key, "mark", "●" if run_id in self._marked else "")

    def action_export_run(self) -> None:
        table = self.query_one("#lt-runs", DataTable)
        key = cursor_row_key(table) if table.has_focus else None
        if key is not None:
            self.export_run(int(key))

    @work(thread=True, exclusive=True, group="lt-export")
    def export_run(self, run_id: int) -> None:
        """Write run ``run_id`` as JSON + CSV under the data dir's ``exports/``."""
        import sqlite3

        from llmops_tui.bench.fallback import store_problem
        from llmops_tui.bench.report import export_run
        from llmops_tui.bench.store import ResultStore
        from llmops_tui.config import paths

        try:
            run = ResultStore(paths().results_db).get(run_id, with_requests=True)
            if run is None:
                text = f"run #{run_id} is no longer stored (r reloads the list)"
            else:
                j, c = export_run(run, paths().data / "exports")
                text = f"Exported run #{run_id}: {j} and {c.name}"
        except sqlite3.Error as exc:
            text = f"cannot export run #{run_id}: {store_problem(paths().results_db, exc)}"
        except Exception as exc:  # disk full, permissions: said, never a traceback
            text = f"cannot export run #{run_id}: {exc}"
        to_ui(self, self.query_one("#lt-history-help", Static).update, text)

    def mark_runs(self, ids: list[int]) -> None:
        """Mark runs for comparison (also used by tests)."""
        self._marked = list(ids)
        self._show_runs(list(getattr(self, "_runs", {}).values()), None)

    def action_compare(self) -> None:
        from llmops_tui.bench.report import compare_rows

        runs = [self._runs[i] for i in self._marked if i in getattr(self, "_runs", {})]
        help_ = self.query_one("#lt-history-help", Static)
        if len(runs) < 2:
            help_.update("Mark 2 or more runs with space, then compare.")
            return
        header, rows = compare_rows(runs)
        table = self.query_one("#lt-compare", DataTable)
        table.clear(columns=True)
        table.add_columns(*map(escape, header))  # model names as typed: '[' is not markup
        for row in rows:
            table.add_row(*map(escape, row))
        help_.update(f"Comparing runs {', '.join('#' + str(r.id) for r in runs)}.")
