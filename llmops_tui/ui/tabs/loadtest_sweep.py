"""The Load test tab's Sweep: the form's workload at concurrency 1, 2, 4, … up to the form's
concurrency, stopping at saturation (``bench/sweep.py``, as ``llmops bench sweep``).

A mixin of :class:`~llmops_tui.ui.tabs.loadtest.LoadTestTab` (it composes ``#lt-sweep-btn``
and ``#lt-sweep``). Each step runs like Start (its own LiveRun and telemetry sampler, so the
live plots, posted by the same progress ticker as Start's, follow the step in progress); the step table fills in as steps finish and the
answer and a text throughput-vs-TTFT plot end it. Runs in a worker thread on its own loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work
from textual.widgets import DataTable

from llmops_tui.ui.threads import to_ui

if TYPE_CHECKING:
    from llmops_tui.bench.plan import RunPlan
    from llmops_tui.bench.runner import LoadShape
    from llmops_tui.bench.sweep import Step, SweepPlan, SweepResult
    from llmops_tui.ui.tabs.loadtest import LoadTestTab

SWEEP_TIP = (
    "Run the form's workload at concurrency 1, 2, 4, … up to its concurrency (64 when blank), "
    "each step as many requests as the form says; stops when the engine saturates. With SLOs: "
    "the highest concurrency meeting them (p99)."
)


class SweepRunner:
    """The Sweep button's behaviour, mixed into the Load test tab (which routes the button's
    press here: Textual's ``@on`` is not collected from a plain mixin)."""

    def start_sweep(self: LoadTestTab) -> None:
        from llmops_tui.bench.sweep import SweepPlan, SweepResult
        from llmops_tui.bench.sweep_report import header

        plan = self.checked_plan()
        if plan is None:
            return
        top = plan.shape.concurrency or 64
        sweep = SweepPlan(
            start=1, max_load=top, requests_per_step=plan.spec.num_requests, slo=plan.slo
        )
        table = self.query_one("#lt-sweep", DataTable)
        table.clear(columns=True)
        table.add_columns(*header(SweepResult(sweep)))
        table.display = True
        self._set_running(True)
        self._message(
            f"Sweep against {plan.target.base_url}: concurrency "
            f"{', '.join(f'{x:g}' for x in sweep.ladder())}, {plan.spec.num_requests} requests "
            "each, until the engine saturates. Esc or Stop ends it, keeping the steps done."
        )
        self.query_one("#lt-buttons").scroll_visible(top=True, animate=False)
        self.run_sweep(plan, sweep)

    @work(thread=True, exclusive=True, group="lt-bench")
    def run_sweep(self: LoadTestTab, plan: RunPlan, sweep: SweepPlan) -> None:
        from llmops_tui.bench.eventloop import run as run_loop
        from llmops_tui.bench.live import LiveRun
        from llmops_tui.bench.session import execute, resolve_tokenizer
        from llmops_tui.bench.store import ResultStore
        from llmops_tui.bench.sweep import run_sweep
        from llmops_tui.bench.sweep_report import step_row
        from llmops_tui.bench.telemetry import sampler_for
        from llmops_tui.config import paths

        async def main():
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            tokenizer = resolve_tokenizer(plan.spec, plan.target)
            store = ResultStore(paths().results_db)

            async def run_step(load: float, shape: LoadShape, n: int):
                live = LiveRun()
                live.total = None if shape.duration_s else n
                self._live = live
                fake = self._sender_factory is not None
                self._sampler = None if fake else sampler_for(plan.target)
                out = await execute(
                    plan.target,
                    replace(plan.spec, num_requests=n),
                    shape,
                    tokenizer=tokenizer,
                    slo=plan.slo,
                    stop=self._stop,
                    on_record=live.on_record,
                    store=store,
                    label=f"sweep {plan.label} concurrency={load:g}".replace("  ", " "),
                    timeout=plan.timeout,
                    sender_factory=self._sender_factory,
                    sampler=self._sampler,
                )
                return out.summary, out.run_id, out.result.partial

            def on_step(step: Step, res: SweepResult) -> None:
                to_ui(self, self._sweep_step, step_row(step, res))

            ticker = asyncio.create_task(self.post_progress())
            try:
                return await run_sweep(
                    sweep, plan.shape, run_step, stop=self._stop, on_step=on_step
                )
            finally:
                ticker.cancel()

        try:
            res, error = run_loop(main()), None
        except Exception as exc:  # shown in the tab, never a traceback
            res, error = None, f"sweep failed: {exc}"
        finally:
            self._loop = None
        to_ui(self, self._sweep_done, res, error)

    def _sweep_step(self: LoadTestTab, row: list[str]) -> None:
        self.query_one("#lt-sweep", DataTable).add_row(*row)

    def _sweep_done(self: LoadTestTab, res: SweepResult | None, error: str | None) -> None:
        from llmops_tui.bench.sweep_report import text_plot

        self.refresh_live()
        self._set_running(False)
        if error or res is None:
            self._message(error or "sweep failed", error=True)
            return
        self._message(f"Sweep: {res.answer()}\n{text_plot(res, width=60, height=8)}")
        self.load_runs()
