"""The Load test tab's form through Pilot: presets fill fields, bad values get a message under
their field, a run against a fake stream ends in History with goodput, Stop keeps it partial."""

from __future__ import annotations

import asyncio

from bench_fakes import FakeStreams
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from llmops_tui.bench.store import ResultStore
from llmops_tui.config import paths
from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.loadtest import LoadTestTab

SIZE = (130, 48)


class LoadTestApp(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def __init__(self, fake: FakeStreams | None = None) -> None:
        super().__init__()
        self.fake = fake or FakeStreams()

    def compose(self) -> ComposeResult:
        yield LoadTestTab(sender_factory=self.fake)


async def wait_until(pilot, pred, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "timed out"
        await pilot.pause(0.05)


async def type_into(pilot, widget_id: str, text: str) -> None:
    field = pilot.app.query_one(f"#{widget_id}", Input)
    field.focus()
    field.value = ""
    await pilot.press(*text)


async def form_ready(pilot) -> LoadTestTab:
    """The tab, once its Run form is mounted (it is built when the tab is first shown)."""
    tab = pilot.app.query_one(LoadTestTab)
    await wait_until(pilot, lambda: tab.form_ready and tab.form.size.height > 0)
    await pilot.pause()
    return tab


def history(tab: LoadTestTab) -> list[dict[str, str]]:
    table = tab.query_one("#lt-runs", DataTable)
    cols = [str(c.label) for c in table.ordered_columns]
    return [dict(zip(cols, map(str, table.get_row_at(i)))) for i in range(table.row_count)]


async def test_a_preset_fills_the_fields_which_stay_editable():
    app = LoadTestApp()
    async with app.run_test(size=SIZE) as pilot:
        tab = await form_ready(pilot)
        tab.query_one("#lt-preset").value = "shared-prefix"
        await pilot.pause()
        v = tab.form.values()
        assert (v["dataset"], v["input_len"], v["prefix_len"], v["num_prefixes"]) == (
            "shared-prefix",
            "1024",
            "896",
            "4",
        )
        assert (v["output_len"], v["num_requests"], v["concurrency"]) == ("128", "200", "10")
        assert "Preset shared-prefix: 4 shared 896-token prefixes" in str(
            tab.query_one("#lt-message").render()
        )
        await type_into(pilot, "lt-num", "6")  # still editable: the run uses the edited value
        await type_into(pilot, "lt-model", "m")
        await type_into(pilot, "lt-out", "3")
        tab.start()
        await wait_until(pilot, lambda: not tab._bench_running)
        assert len(app.fake.prompts) == 6
        # shared-prefix: 6 requests over 4 prefixes, 2 per prefix, so 3 distinct openings
        assert len({" ".join(p.split()[:50]) for p in app.fake.prompts}) == 3
        # a second preset replaces what the first one set
        tab.query_one("#lt-preset").value = "chat"
        await pilot.pause()
        v = tab.form.values()
        assert (v["dataset"], v["endpoint"], v["prefix_len"]) == ("random", "chat", "")
        # clearing the preset ("none") leaves the fields as they are
        tab.query_one("#lt-preset").clear()
        await pilot.pause()
        assert tab.form.values() == v | {"preset": ""}


async def test_a_bad_slo_gets_a_message_under_its_field_and_nothing_runs():
    app = LoadTestApp()
    async with app.run_test(size=SIZE) as pilot:
        tab = await form_ready(pilot)
        await type_into(pilot, "lt-model", "m")
        await type_into(pilot, "lt-slo-ttft", "-5")
        await type_into(pilot, "lt-slo-tpot", "fast")
        await pilot.click("#lt-start")
        await pilot.pause()
        assert tab.form.error_text("slo_ttft") == "expected a number > 0, got -5"
        assert tab.form.error_text("slo_tpot") == "expected a number, got 'fast'"
        assert tab.form.error_text("model") == "" and tab.form.error_text("num_requests") == ""
        msg = str(tab.query_one("#lt-message").render())
        assert "2 fields to fix (see the messages under them): SLO TTFT (ms), SLO TPOT (ms)" in msg
        assert not tab._bench_running and app.fake.prompts == []
        # editing the field clears its message; the other stays until fixed
        await type_into(pilot, "lt-slo-ttft", "200")
        await pilot.pause()
        assert tab.form.error_text("slo_ttft") == ""
        assert tab.form.error_text("slo_tpot") == "expected a number, got 'fast'"


async def test_a_run_against_a_fake_stream_ends_in_history_with_goodput():
    app = LoadTestApp(FakeStreams())
    async with app.run_test(size=SIZE) as pilot:
        tab = await form_ready(pilot)
        await type_into(pilot, "lt-model", "fake-model")
        await type_into(pilot, "lt-num", "10")
        await type_into(pilot, "lt-conc", "2")
        await type_into(pilot, "lt-in", "8")
        await type_into(pilot, "lt-out", "5")
        await type_into(pilot, "lt-slo-ttft", "100")
        await pilot.click("#lt-start")
        await wait_until(pilot, lambda: tab.query_one("#lt-results", DataTable).row_count == 4)
        msg = str(tab.query_one("#lt-message").render())
        assert "Done · stored as run #1: 10 completed, 0 failed" in msg
        # every 2nd fake request has a 300 ms TTFT: half meet the 100 ms SLO
        assert "(50 % of completed requests) meeting TTFT≤100 ms" in msg
        await wait_until(pilot, lambda: tab.query_one("#lt-runs", DataTable).row_count == 1)
        row = history(tab)[0]
        run = ResultStore(paths().results_db).get(1)
        assert row["status"] == "done"  # (History says "done" for complete: 100 columns)
        assert row["ok/fail"] == "10/0"
        assert row["goodput"] == f"{run.summary['goodput']:,.2f}" != "-"
        assert app.fake.models == ["fake-model"]


async def test_stop_mid_run_keeps_a_partial_run_in_history():
    """From the keyboard: Ctrl+G starts, Esc stops; what finished is kept, marked partial."""
    app = LoadTestApp(FakeStreams(hold_s=0.02))
    async with app.run_test(size=SIZE) as pilot:
        tab = await form_ready(pilot)
        await type_into(pilot, "lt-model", "fake-model")
        await type_into(pilot, "lt-num", "5000")
        await type_into(pilot, "lt-conc", "2")
        await type_into(pilot, "lt-in", "8")
        await type_into(pilot, "lt-out", "5")
        await pilot.press("ctrl+g")
        await wait_until(pilot, lambda: tab._live is not None and tab._live.done >= 6)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not tab._bench_running)
        msg = str(tab.query_one("#lt-message").render())
        assert msg.startswith("Partial run (stopped by the user)")
        await wait_until(pilot, lambda: tab.query_one("#lt-runs", DataTable).row_count == 1)
        row = history(tab)[0]
        done = int(row["ok/fail"].split("/")[0])
        assert row["status"] == "partial" and 6 <= done < 5000
        run = ResultStore(paths().results_db).get(1)
        assert run.partial and run.summary["completed"] == done


async def test_history_exports_the_highlighted_run_from_the_keyboard():
    app = LoadTestApp()
    async with app.run_test(size=SIZE) as pilot:
        tab = await form_ready(pilot)
        await type_into(pilot, "lt-model", "fake-model")
        await type_into(pilot, "lt-num", "3")
        await type_into(pilot, "lt-out", "2")
        tab.start()
        await wait_until(pilot, lambda: tab.query_one("#lt-runs", DataTable).row_count == 1)
        tab.query_one("#lt-tabs").active = "lt-history"
        await pilot.pause()
        tab.query_one("#lt-runs", DataTable).focus()
        await pilot.press("e")
        exported = paths().data / "exports" / "run-1.json"
        await wait_until(pilot, exported.exists)
        await wait_until(
            pilot, lambda: "Exported run #1" in str(tab.query_one("#lt-history-help").render())
        )
        import json

        data = json.loads(exported.read_text())
        assert data["summary"]["completed"] == 3 and len(data["requests"]) == 3
        assert (paths().data / "exports" / "run-1.csv").read_text().count("\n") == 4


async def test_bakeoff_options_get_messages_under_their_fields(tmp_path):
    from textual.widgets import Static

    from llmops_tui.ui.tabs.bakeoff_panel import BakeoffPanel

    class BakeoffApp(App):
        CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

        def compose(self) -> ComposeResult:
            yield BakeoffPanel()

    a_file = tmp_path / "taken"
    a_file.write_text("x")
    app = BakeoffApp()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.query_one(BakeoffPanel)
        panel.set_choices(["a", "b"], ["tiny"])
        await pilot.pause()
        panel.query_one("#bo-profiles").select("a")
        await type_into(pilot, "bo-out", str(a_file))
        await type_into(pilot, "bo-ready-timeout", "soon")
        await pilot.click("#bo-start")
        await pilot.pause()
        out_err = str(panel.query_one("#bo-out-err", Static).render())
        timeout_err = str(panel.query_one("#bo-ready-timeout-err", Static).render())
        assert out_err == f"{a_file} exists and is not a folder"
        assert timeout_err == "expected a number of seconds > 0, got 'soon'"
        assert not panel.running
        panel.set_choices(["a", "b"], [])  # no suite to pick: said, not passed on as a name
        await pilot.pause()
        await type_into(pilot, "bo-out", "")
        await pilot.click("#bo-start")
        await pilot.pause()
        message = str(panel.query_one("#bo-message", Static).render())
        assert "suite: pick a suite" in message and not panel.running


async def test_the_form_is_built_when_the_tab_is_first_shown():
    from llmops_tui.ui.app import LlmopsApp

    app = LlmopsApp(initial_tab="chat")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: bool(app.query(LoadTestTab)))  # mounted after 1st paint
        await pilot.pause(0.3)
        tab = app.query_one(LoadTestTab)
        assert not tab.form_ready and not tab.query("#lt-preset")
        app.action_show_tab("loadtest")
        await form_ready(pilot)
        assert tab.form.values()["input_len"] == "512"


async def test_target_offers_running_engines_and_keeps_the_pick():
    """A running engine is picked while nothing was picked or typed; a pick (or a typed
    URL) survives the targets being found again; a running engine's new address is
    filled in."""
    from textual.widgets import Select

    from llmops_tui.bench.form import TargetChoice
    from llmops_tui.ui.tabs.loadtest_form import CUSTOM

    idle = TargetChoice("idle-a", "http://127.0.0.1:8000", "m-a", "vllm", False)
    up = TargetChoice("tiny", "http://127.0.0.1:18400", "tiny-llama", "vllm", True)
    app = LoadTestApp()
    async with app.run_test(size=SIZE) as pilot:
        tab = app.query_one(LoadTestTab)
        await wait_until(pilot, lambda: tab.form_ready)
        form = tab.form
        select = form.query_one("#lt-profile", Select)
        url = form.query_one("#lt-base-url", Input)

        form.set_targets([idle])  # nothing running: stays on a custom URL
        await pilot.pause()
        assert select.value == CUSTOM and not url.disabled

        form.set_targets([up, idle])  # an engine came up: picked, its address filled
        await pilot.pause()
        assert select.value == "tiny"
        assert (url.value, form.query_one("#lt-model", Input).value) == (up.base_url, up.model)
        assert url.disabled

        moved = TargetChoice("tiny", "http://127.0.0.1:18500", "tiny-llama", "vllm", True)
        form.set_targets([moved, idle])  # restarted elsewhere: the pick stays, address new
        await pilot.pause()
        assert select.value == "tiny" and url.value == moved.base_url

        select.value = CUSTOM  # the user goes back to a URL of their own
        await pilot.pause()
        await type_into(pilot, "lt-base-url", "http://10.0.0.5:9000")
        form.set_targets([moved, idle])
        await pilot.pause()
        assert select.value == CUSTOM and url.value == "http://10.0.0.5:9000"

        select.value = "idle-a"
        await pilot.pause()
        form.set_targets([idle])  # the running one stopped: the idle pick is kept
        await pilot.pause()
        assert select.value == "idle-a" and url.value == idle.base_url


async def test_the_form_and_the_cli_build_equal_plans_with_a_preset_and_an_edit():
    """The form's fields (a preset picked, then one field edited) and `llmops bench` with the
    same values (--scenario, the edited flag) give equal plans, through the tab's own path."""
    from llmops_tui.bench.plan import RunPlan
    from llmops_tui.cli import build_parser
    from llmops_tui.commands.bench_cmd import plan_from_args

    def cli(*argv: str) -> RunPlan:
        target = ["--base-url", "http://127.0.0.1:8000", "--model", "m", "--ignore-eos"]
        plan = plan_from_args(build_parser("bench_cmd").parse_args(["bench", *target, *argv]))
        assert isinstance(plan, RunPlan), plan
        return plan

    app = LoadTestApp()
    async with app.run_test(size=SIZE) as pilot:
        tab = await form_ready(pilot)
        await type_into(pilot, "lt-model", "m")
        tab.query_one("#lt-preset").value = "chat"
        await pilot.pause()
        assert tab.checked_plan() == cli("--scenario", "chat")
        await type_into(pilot, "lt-conc", "3")
        plan = tab.checked_plan()
        assert plan == cli("--scenario", "chat", "--concurrency", "3")
        assert (plan.shape.concurrency, plan.spec.endpoint) == (3, "chat")
        await type_into(pilot, "lt-conc", "0")  # and a bad value is the CLI's message
        assert tab.checked_plan() is None
        assert tab.form.error_text("concurrency") == "expected a number ≥ 1, got 0"
