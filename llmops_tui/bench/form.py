"""The Load test tab's form, without Textual: field names, presets, target choices and parsing.

Every ``llmops bench`` option has a field here (strings as typed, two booleans).
:func:`parse_form` turns them into a :class:`RunPlan` or raises :class:`FormError`
whose ``by_field`` maps each bad field to its own message, so the tab can show
it next to that field.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops_tui.bench.workload import SCENARIOS, WorkloadSpec

if TYPE_CHECKING:  # the runner pulls in the HTTP client: imported when a run is parsed
    from llmops_tui.bench.metrics import SLO
    from llmops_tui.bench.runner import LoadShape

# Field name → what a blank field means (shown as the Input's placeholder).
TEXT_FIELDS: dict[str, str] = {
    "base_url": "http://host:port",
    "model": "served model name",
    "api_key_env": "none",
    "input_len": "",
    "output_len": "",
    "range_ratio": "0",
    "num_prefixes": "4",
    "prefix_len": "input/2",
    "tokenizer": "the model's, if local",
    "num_requests": "1000 with a duration",
    "duration": "none",
    "concurrency": "∞",
    "request_rate": "∞",
    "burstiness": "1 = Poisson",
    "warmup": "0",
    "seed": "0",
    "timeout": "600",
    "slo_ttft": "none",
    "slo_tpot": "none",
    "slo_e2el": "none",
    "label": "",
}
CHOICE_FIELDS = ("profile", "endpoint", "dataset")
BOOL_FIELDS = ("ignore_eos", "constant_rate")

# Names used by WorkloadSpec.validate / LoadShape.validate → the form's field names.
_CORE_TO_FIELD = {"max_concurrency": "concurrency", "duration_s": "duration"}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class FormError(ValueError):
    """Bad values in the form; ``by_field`` maps field name → what is wrong and expected."""

    def __init__(self, by_field: dict[str, str]):
        self.by_field = dict(by_field)
        super().__init__("; ".join(self.errors))

    @property
    def errors(self) -> list[str]:
        """``"field: message"`` lines, in form order."""
        return [f"{k}: {v}" for k, v in self.by_field.items()]


@dataclass
class RunPlan:
    """Everything one run needs, as ``llmops bench`` would build it from its options."""

    target: Any  # session.Target
    spec: WorkloadSpec
    shape: LoadShape
    slo: SLO
    timeout: float = 600.0
    label: str = ""


def preset_values(name: str) -> dict[str, str]:
    """The form fields a scenario preset sets (as the strings the fields will show).

    Fields the preset does not name but that belong to a preset's shape are reset, so that
    picking one preset after another gives the same form: rate back to "all at once",
    dataset/endpoint to their defaults, prefix fields blank.
    """
    try:
        preset = SCENARIOS[name]
    except KeyError:
        raise KeyError(f"no preset {name!r} (one of {', '.join(SCENARIOS)})") from None
    values = {
        "dataset": "random",
        "endpoint": "completions",
        "num_prefixes": "",
        "prefix_len": "",
        "request_rate": "",
        "duration": "",
    }
    values.update({k: str(v) for k, v in preset.items()})
    return values


@dataclass(frozen=True)
class TargetChoice:
    """A profile offered as a target; ``running`` ones answer where the supervisor found them."""

    name: str
    base_url: str
    model: str
    engine: str
    running: bool

    @property
    def label(self) -> str:
        return f"● {self.name} (up)" if self.running else self.name


def target_choices(
    records: Callable[[], list[Any]] | None = None,
    profiles: Callable[[], list[Any]] | None = None,
) -> list[TargetChoice]:
    """Profiles as targets: engines running now first (at their real address), then the rest.

    ``records``/``profiles`` default to the supervisor's engine records and the profile list
    (tests pass their own). An unreadable state dir gives no running engines, never an error.
    """
    if records is None:
        from llmops_tui.supervisor.core import Supervisor

        def records() -> list[Any]:
            return Supervisor().records()

    if profiles is None:
        from llmops_tui.profiles import list_profiles

        def profiles() -> list[Any]:
            return [e.profile for e in list_profiles() if e.profile is not None]

    try:
        live = {r.name: r for r in records() if r.phase == "ready"}
    except OSError:
        live = {}
    running: list[TargetChoice] = []
    idle: list[TargetChoice] = []
    for p in profiles():
        rec = live.pop(p.name, None)
        if rec is not None:
            running.append(
                TargetChoice(p.name, rec.base_url, rec.served_model_name, p.engine, True)
            )
        else:
            host = "127.0.0.1" if p.host in ("0.0.0.0", "::", "") else p.host
            host = f"[{host}]" if ":" in host else host
            idle.append(
                TargetChoice(p.name, f"http://{host}:{p.port}", p.model_name, p.engine, False)
            )
    for rec in live.values():  # running, but its profile file is gone or broken
        running.append(
            TargetChoice(rec.name, rec.base_url, rec.served_model_name, rec.engine, True)
        )
    return running + idle


def parse_form(
    values: dict[str, Any],
    resolve_profile: Callable[[str], Any] | None = None,
) -> RunPlan:
    """The form's values → a :class:`RunPlan`; raises :class:`FormError` naming every bad field.

    Same rules as ``llmops bench``: requests or a duration (a duration with no count
    cycles 1000 prompts); concurrency and request rate may be combined; blank SLOs are
    not checked; the prefix length defaults to half the input length.
    """
    from llmops_tui.bench.metrics import SLO
    from llmops_tui.bench.runner import LoadShape
    from llmops_tui.bench.session import Target, target_from_profile

    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return str(values.get(name) or "").strip()

    def number(
        name: str,
        kind: type = int,
        minimum: float | None = 1,
        strict: bool = False,
        blank: Any = None,
        required: bool = False,
    ) -> Any:
        raw = text(name)
        if not raw:
            if required:
                errors[name] = "required"
            return blank
        try:
            v = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            errors[name] = f"expected {what}, got {raw!r}"
            return blank
        if kind is float and not math.isfinite(v):
            errors[name] = f"expected a finite number, got {raw!r}"
            return blank
        if minimum is not None and (v <= minimum if strict else v < minimum):
            errors[name] = f"expected a number {'>' if strict else '≥'} {minimum:g}, got {raw}"
            return blank
        return v

    profile = text("profile")
    if profile:
        try:
            target = (resolve_profile or target_from_profile)(profile)
        except Exception as exc:  # ProfileError / ProfileNotFound, already worded for users
            errors["profile"] = str(exc)
            target = Target(base_url="", model="")
    else:
        base_url, model = text("base_url"), text("model")
        if not re.match(r"https?://[^/\s]+", base_url):
            errors["base_url"] = f"expected http://host:port, got {base_url!r}"
        if not model:
            errors["model"] = "required (the name the server serves)"
        target = Target(base_url=base_url, model=model)
    key_env = text("api_key_env")
    if key_env:
        if not _ENV_NAME.match(key_env):
            errors["api_key_env"] = f"expected an environment variable name, got {key_env!r}"
        elif key_env not in os.environ:
            errors["api_key_env"] = f"${key_env} is not set in this environment"
        else:
            target.api_key_env = key_env

    in_len = number("input_len", required=True)
    out_len = number("output_len", required=True)
    range_ratio = number("range_ratio", float, minimum=0, blank=0.0)
    if range_ratio is not None and range_ratio >= 1:
        errors["range_ratio"] = f"expected a number in [0, 1), got {text('range_ratio')}"
    num_prefixes = number("num_prefixes", blank=4)
    prefix_len = number("prefix_len")
    num = number("num_requests")
    duration = number("duration", float, minimum=0, strict=True)
    if num is None and duration is None and "num_requests" not in errors:
        errors["num_requests"] = "give a number of requests or a duration"
    conc = number("concurrency")
    rate = number("request_rate", float, minimum=0, strict=True, blank=math.inf)
    burstiness = number("burstiness", float, minimum=0, strict=True, blank=1.0)
    warmup = number("warmup", minimum=0, blank=0)
    seed = number("seed", minimum=None, blank=0)
    timeout = number("timeout", float, minimum=0, strict=True, blank=600.0)
    slo = SLO(
        number("slo_ttft", float, minimum=0, strict=True),
        number("slo_tpot", float, minimum=0, strict=True),
        number("slo_e2el", float, minimum=0, strict=True),
    )
    endpoint = text("endpoint") or "completions"
    dataset = text("dataset") or "random"
    spec = WorkloadSpec(
        dataset=dataset,
        num_requests=num or 1000,
        input_len=in_len or 2,
        output_len=out_len or 1,
        ignore_eos=bool(values.get("ignore_eos", True)),
        endpoint=endpoint,
        num_prefixes=num_prefixes or 4,
        prefix_len=prefix_len or max(1, (in_len or 2) // 2),
        seed=seed or 0,
        tokenizer=text("tokenizer") or None,
        range_ratio=range_ratio or 0.0,
    )
    shape = LoadShape(
        max_concurrency=conc,
        request_rate=rate if rate is not None else math.inf,
        burstiness=burstiness or 1.0,
        constant_rate=bool(values.get("constant_rate", False)),
        duration_s=duration,
        warmup=warmup or 0,
        seed=seed or 0,
    )
    # Cross-field rules (prefix shorter than the prompt, …), once every field parsed.
    if not errors:
        for line in spec.validate() + shape.validate():
            core, _, msg = line.partition(": ")
            errors.setdefault(_CORE_TO_FIELD.get(core, core), msg)
    if errors:
        raise FormError(_in_form_order(errors))
    return RunPlan(target, spec, shape, slo, timeout or 600.0, text("label"))


def _in_form_order(errors: dict[str, str]) -> dict[str, str]:
    order = [*CHOICE_FIELDS, *TEXT_FIELDS, *BOOL_FIELDS]
    return dict(sorted(errors.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99))


@dataclass
class BakeoffPlan:
    """The Bake-off pane's choices, as ``llmops bakeoff`` takes them."""

    profiles: list[str]
    suite: str
    out_dir: Any  # Path | None: where bakeoff.md/.csv/.json go (None: the data dir's default)
    ready_timeout: float = 900.0


def parse_bakeoff_form(
    profiles: list[str], suite: str | None, out_dir: str, ready_timeout: str
) -> BakeoffPlan:
    """The Bake-off pane's fields → a :class:`BakeoffPlan`, or :class:`FormError` by field."""
    from pathlib import Path

    errors: dict[str, str] = {}
    if not profiles:
        errors["profiles"] = "tick at least one profile"
    if not suite:
        errors["suite"] = "pick a suite"
    folder = None
    if out_dir.strip():
        folder = Path(out_dir.strip()).expanduser()
        if folder.exists() and not folder.is_dir():
            errors["out_dir"] = f"{folder} exists and is not a folder"
    timeout = 900.0
    if ready_timeout.strip():
        try:
            timeout = float(ready_timeout)
            if not (math.isfinite(timeout) and timeout > 0):
                raise ValueError
        except ValueError:
            errors["ready_timeout"] = f"expected a number of seconds > 0, got {ready_timeout!r}"
    if errors:
        raise FormError(errors)
    return BakeoffPlan(list(profiles), str(suite), folder, timeout)
