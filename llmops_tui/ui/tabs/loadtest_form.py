"""The Load test tab's Run form: target, preset, workload, load shape, SLOs, each field with
its own error line. Its values become a plan, and presets become values, in
:mod:`llmops_tui.bench.plan` (the builder ``llmops bench`` uses too)."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Select, Static

from llmops_tui.bench.form import TargetChoice
from llmops_tui.bench.plan import TEXT_FIELDS, preset_values
from llmops_tui.bench.workload import SCENARIO_NOTES, SCENARIOS
from llmops_tui.ui.quitsafe import QuitSafeSelect
from llmops_tui.ui.threads import alive
from llmops_tui.ui.toggles import MarkedCheckbox

CUSTOM = "__custom__"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"

# Form field → widget id. The first ids predate this form (tests and scripts use them).
FIELD_IDS: dict[str, str] = {
    "profile": "lt-profile",
    "base_url": "lt-base-url",
    "model": "lt-model",
    "endpoint": "lt-endpoint",
    "api_key_env": "lt-api-key-env",
    "preset": "lt-preset",
    "dataset": "lt-dataset",
    "input_len": "lt-in",
    "output_len": "lt-out",
    "range_ratio": "lt-range",
    "num_prefixes": "lt-prefixes",
    "prefix_len": "lt-prefix-len",
    "num_requests": "lt-num",
    "duration": "lt-duration",
    "concurrency": "lt-conc",
    "request_rate": "lt-rate",
    "burstiness": "lt-burst",
    "warmup": "lt-warmup",
    "seed": "lt-seed",
    "slo_ttft": "lt-slo-ttft",
    "slo_tpot": "lt-slo-tpot",
    "slo_e2el": "lt-slo-e2el",
    "timeout": "lt-timeout",
    "tokenizer": "lt-tokenizer",
    "label": "lt-label",
    "ignore_eos": "lt-ignore-eos",
    "constant_rate": "lt-constant-rate",
}

# (field, label, initial value, width class) per row of text fields.
ROWS: tuple[tuple[tuple[str, str, str, str], ...], ...] = (
    (
        ("input_len", "Input tokens", "512", ""),
        ("output_len", "Output tokens", "256", ""),
        ("range_ratio", "Len spread", "", ""),
        ("num_prefixes", "Prefixes", "", ""),
        ("prefix_len", "Prefix len", "", ""),
        ("tokenizer", "Tokenizer", "", "wide"),
    ),
    (
        ("num_requests", "Requests", "200", ""),
        ("duration", "Duration (s)", "", ""),
        ("concurrency", "Concurrency", "32", ""),
        ("request_rate", "Rate (req/s)", "", ""),
        ("burstiness", "Burstiness", "", ""),
        ("warmup", "Warm-up req", "", ""),
        ("seed", "Seed", "", ""),
    ),
    (
        ("slo_ttft", "SLO TTFT (ms)", "", ""),
        ("slo_tpot", "SLO TPOT (ms)", "", ""),
        ("slo_e2el", "SLO E2EL (ms)", "", ""),
        ("timeout", "Timeout (s)", "", ""),
        ("label", "Note", "", "wide"),
    ),
)


def preset_options() -> list[tuple[str, str]]:
    return [(name, name) for name in SCENARIOS]


class LoadTestForm(Vertical):
    """The Run sub-tab's fields. :meth:`values` feeds :func:`llmops_tui.bench.plan.build_plan`;
    :meth:`show_errors` puts each message under its field."""

    def __init__(self, targets: list[TargetChoice] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pending_targets = targets
        self._choices: dict[str, TargetChoice] = {}
        self._error_values: dict[str, Any] = {}  # field → its value when the error was shown
        self.labels: dict[str, str] = {"ignore_eos": "ignore EOS", "constant_rate": "constant rate"}

    def compose(self) -> ComposeResult:
        with Horizontal(classes="row"):
            yield from self._field(
                "profile",
                "Target",
                QuitSafeSelect(
                    [("custom URL", CUSTOM)], value=CUSTOM, allow_blank=False, compact=True
                ),
                "wide",
            )
            yield from self._field(
                "base_url", "Base URL", Input(DEFAULT_BASE_URL, compact=True), "wide"
            )
            yield from self._field("model", "Model", self._input("model", ""), "wide")
            yield from self._field("api_key_env", "API key env", self._input("api_key_env", ""))
        with Horizontal(classes="row"):
            yield from self._field(
                "preset",
                "Preset (fills the fields below)",
                QuitSafeSelect(preset_options(), prompt="none", allow_blank=True, compact=True),
                "wide",
            )
            yield from self._field(
                "endpoint",
                "Endpoint",
                QuitSafeSelect(
                    [("completions", "completions"), ("chat", "chat")],
                    value="completions",
                    allow_blank=False,
                    compact=True,
                ),
                "choice",
            )
            yield from self._field(
                "dataset",
                "Dataset",
                QuitSafeSelect(
                    [("random", "random"), ("shared-prefix", "shared-prefix")],
                    value="random",
                    allow_blank=False,
                    compact=True,
                ),
                "choice",
            )
        for row in ROWS:
            with Horizontal(classes="row"):
                for name, label, value, width in row:
                    yield from self._field(name, label, self._input(name, value), width)
        with Horizontal(id="lt-checks"):
            yield MarkedCheckbox("ignore EOS", value=True, id="lt-ignore-eos", compact=True)
            yield MarkedCheckbox("constant rate (no Poisson)", id="lt-constant-rate", compact=True)

    def _input(self, name: str, value: str) -> Input:
        return Input(value, placeholder=TEXT_FIELDS.get(name, ""), compact=True)

    def _field(self, name: str, label: str, widget: Any, width: str = "") -> ComposeResult:
        widget.id = FIELD_IDS[name]
        self.labels[name] = label.split(" (fills")[0]
        with Vertical(classes=f"field {width}".strip()):
            yield Label(label)
            yield widget

    def on_mount(self) -> None:
        if self._pending_targets is not None and alive(self):
            self.set_targets(self._pending_targets)

    # ------------------------------------------------------------------ targets
    def set_targets(self, choices: list[TargetChoice]) -> None:
        """Offer ``choices`` (found again each time the tab is shown).

        The target picked stays picked (refilled: a running engine's address may have
        changed). While nothing is picked and no URL was typed, the first running engine
        is picked: what a user coming from the Engines tab wants to load-test.
        """
        select = self.query_one("#lt-profile", Select)
        current = select.value
        self._choices = {c.name: c for c in choices}
        select.set_options([("custom URL", CUSTOM), *[(c.label, c.name) for c in choices]])
        if current in self._choices:
            pick = current
        else:
            url = self.query_one("#lt-base-url", Input).value.strip()
            running = [c.name for c in choices if c.running]
            untouched = current == CUSTOM and url in ("", DEFAULT_BASE_URL)
            pick = running[0] if running and untouched else CUSTOM
        select.value = pick
        if pick == current and pick in self._choices:
            self._fill_target(self._choices[pick])

    @on(Select.Changed, "#lt-profile")
    def _target_changed(self, event: Select.Changed) -> None:
        self._fill_target(self._choices.get(str(event.value)))

    def _fill_target(self, choice: TargetChoice | None) -> None:
        url, model = self.query_one("#lt-base-url", Input), self.query_one("#lt-model", Input)
        url.disabled = model.disabled = choice is not None
        if choice is not None:
            url.value, model.value = choice.base_url, choice.model
        self.clear_errors("profile", "base_url", "model")

    # ------------------------------------------------------------------ presets
    @on(Select.Changed, "#lt-preset")
    def _preset_changed(self, event: Select.Changed) -> None:
        if event.value is Select.NULL:
            return
        self.apply_preset(str(event.value))

    def apply_preset(self, name: str) -> str:
        """Fill the fields a preset sets (they stay editable); returns what the preset is."""
        for field, value in preset_values(name).items():
            self.set_value(field, value)
            self.clear_errors(field)
        select = self.query_one("#lt-preset", Select)
        if select.value != name:
            select.value = name
        return SCENARIO_NOTES.get(name, "")

    # ------------------------------------------------------------------ values and errors
    def values(self) -> dict[str, Any]:
        """What the user gave, field by field. A disabled field gives nothing: the address
        and model shown for a picked profile are the profile's, not values overriding it."""
        out: dict[str, Any] = {}
        for field, wid in FIELD_IDS.items():
            widget = self.query_one(f"#{wid}")
            if widget.disabled:
                out[field] = ""
            elif isinstance(widget, Checkbox):
                out[field] = widget.value
            elif isinstance(widget, Select):
                v = widget.value
                out[field] = "" if v is Select.NULL or v == CUSTOM else str(v)
            else:
                out[field] = widget.value
        return out

    def set_value(self, field: str, value: Any) -> None:
        self.query_one(f"#{FIELD_IDS[field]}").value = value  # type: ignore[attr-defined]

    def show_errors(self, by_field: dict[str, str]) -> None:
        self.clear_errors()
        for field, msg in by_field.items():
            wid = FIELD_IDS.get(field)
            if wid is None:
                continue
            err = self._error_static(wid)
            err.update(msg)
            err.add_class("shown")
            self._error_values[field] = getattr(self.query_one(f"#{wid}"), "value", None)

    def clear_errors(self, *fields: str) -> None:
        for field in fields or tuple(FIELD_IDS):
            self._error_values.pop(field, None)
            for err in self.query(f"#{FIELD_IDS[field]}-err"):
                err.update("")
                err.remove_class("shown")

    def error_text(self, field: str) -> str:
        """The message under ``field`` ("" when none)."""
        found = self.query(f"#{FIELD_IDS[field]}-err")
        return str(found.first().render()) if found and found.first().has_class("shown") else ""

    def _error_static(self, wid: str) -> Static:
        """The error line under widget ``wid``, made on first use (27 fewer widgets to mount)."""
        found = self.query(f"#{wid}-err")
        if found:
            return found.first(Static)
        err = Static("", id=f"{wid}-err", classes="field-error")
        self.query_one(f"#{wid}").parent.mount(err)
        return err

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        """Editing a field clears its message (not a late event for the value it was about)."""
        for field, wid in FIELD_IDS.items():
            if (
                event.input.id == wid
                and field in self._error_values
                and self._error_values[field] != event.value
            ):
                self.clear_errors(field)
