"""The one path from user values to a load-test plan (no Textual).

``llmops bench`` maps its flags here and the Load test tab its form's fields: the same
field names (``concurrency``, ``input_len``, …), raw values as typed (strings; ``None``
or blank for "not given"; two booleans), the same defaults and checks. :func:`build_plan`
returns a :class:`RunPlan` (Target + WorkloadSpec + LoadShape + SLO, timeout, note) or the
list of :class:`FieldError` — one per bad field, in field order — that the CLI prints as
``--flag: message`` and the tab shows under each field.

A preset (``llmops bench --scenario``; the tab's Preset list) is a set of field values:
:func:`preset_values`. Given to :func:`build_plan`, they are defaults that the values given
explicitly override. The tab writes them into its fields when one is picked (the fields
stay editable), so what the form then holds is what the user gave.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmops_tui.bench.workload import SCENARIOS, WorkloadSpec

if TYPE_CHECKING:  # the runner pulls in the HTTP client: imported when a plan is built
    from llmops_tui.bench.metrics import SLO
    from llmops_tui.bench.runner import LoadShape
    from llmops_tui.bench.session import Target

# Field name → what a blank value means (the tab's placeholders; the CLI's defaults).
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
FIELDS = (*CHOICE_FIELDS, *TEXT_FIELDS, *BOOL_FIELDS)  # the order errors are reported in

# Names used by WorkloadSpec.validate / LoadShape.validate that are not field names.
_CORE_TO_FIELD = {"duration_s": "duration"}

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class FieldError:
    field: str  # a name in FIELDS
    message: str  # what is wrong and what is expected, without the field's name

    def as_flag(self) -> str:
        """The CLI's line: each field is the flag of the same name (``--input-len: required``)."""
        return f"--{self.field.replace('_', '-')}: {self.message}"


@dataclass
class RunPlan:
    """Everything one run needs."""

    target: Target
    spec: WorkloadSpec
    shape: LoadShape
    slo: SLO
    timeout: float = 600.0
    label: str = ""


def preset_values(name: str) -> dict[str, str]:
    """The field values a scenario preset sets (as the strings a form field shows).

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


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(values: Mapping[str, Any], name: str) -> str:
    return str(values.get(name) or "").strip()


def build_plan(
    values: Mapping[str, Any],
    preset: str | None = None,
    resolve_profile: Callable[[str], Target] | None = None,
) -> RunPlan | list[FieldError]:
    """``values`` (field → raw value) → a :class:`RunPlan`, or every bad field's error.

    Requests or a duration (a duration with no count cycles 1000 prompts); concurrency and
    request rate may be combined; blank SLOs are not checked; the prefix length defaults to
    half the input length. A profile gives the target, ``base_url``/``model`` override it.
    ``resolve_profile`` defaults to :func:`session.target_from_profile` (tests pass theirs).
    """
    from llmops_tui.bench.metrics import SLO
    from llmops_tui.bench.runner import LoadShape

    if preset:
        given = {k: v for k, v in values.items() if not _blank(v)}
        values = {**preset_values(preset), **given}
    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return _text(values, name)

    def number(
        name: str,
        kind: type = int,
        minimum: float | None = 1,
        strict: bool = False,
        blank: Any = None,
        required: bool = False,
        inf_ok: bool = False,
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
        if kind is float and not math.isfinite(v) and not (inf_ok and v == math.inf):
            errors[name] = f"expected a finite number, got {raw!r}"
            return blank
        if minimum is not None and (v <= minimum if strict else v < minimum):
            errors[name] = f"expected a number {'>' if strict else '≥'} {minimum:g}, got {raw}"
            return blank
        return v

    target, target_errors = _target(values, resolve_profile)
    errors.update((e.field, e.message) for e in target_errors)
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
    rate = number("request_rate", float, minimum=0, strict=True, blank=math.inf, inf_ok=True)
    burstiness = number("burstiness", float, minimum=0, strict=True, blank=1.0)
    warmup = number("warmup", minimum=0, blank=0)
    seed = number("seed", minimum=None, blank=0)
    timeout = number("timeout", float, minimum=0, strict=True, blank=600.0)
    slo = SLO(
        number("slo_ttft", float, minimum=0, strict=True),
        number("slo_tpot", float, minimum=0, strict=True),
        number("slo_e2el", float, minimum=0, strict=True),
    )
    spec = WorkloadSpec(
        dataset=text("dataset") or "random",
        num_requests=num or 1000,
        input_len=in_len or 2,
        output_len=out_len or 1,
        ignore_eos=bool(values.get("ignore_eos", False)),
        endpoint=text("endpoint") or "completions",
        num_prefixes=num_prefixes or 4,
        prefix_len=prefix_len or max(1, (in_len or 2) // 2),
        seed=seed or 0,
        tokenizer=text("tokenizer") or None,
        range_ratio=range_ratio or 0.0,
    )
    shape = LoadShape(
        concurrency=conc,
        request_rate=rate if rate is not None else math.inf,
        burstiness=burstiness or 1.0,
        constant_rate=bool(values.get("constant_rate", False)),
        duration_s=duration,
        warmup=warmup or 0,
        seed=seed or 0,
    )
    # Cross-field rules (prefix shorter than the prompt, a known endpoint…), once every
    # field parsed: not reported on top of a field that did not.
    if not errors:
        for line in spec.validate() + shape.validate():
            core, _, msg = line.partition(": ")
            errors.setdefault(_CORE_TO_FIELD.get(core, core), msg)
    if errors:
        order = {f: i for i, f in enumerate(FIELDS)}
        ranked = sorted(errors.items(), key=lambda kv: order.get(kv[0], len(order)))
        return [FieldError(f, m) for f, m in ranked]
    return RunPlan(target, spec, shape, slo, timeout or 600.0, text("label"))


def _target(
    values: Mapping[str, Any], resolve_profile: Callable[[str], Target] | None = None
) -> tuple[Target, list[FieldError]]:
    """The target of ``profile``/``base_url``/``model``/``api_key_env``: the profile's,
    ``base_url``/``model`` overriding it, else ``base_url`` + ``model``. ``api_key_env`` must
    name a variable set here. The target comes with the errors, if any (then unusable)."""
    from llmops_tui.bench.session import Target, target_from_profile

    errors: dict[str, str] = {}

    def text(name: str) -> str:
        return _text(values, name)

    base_url, model, profile = text("base_url"), text("model"), text("profile")
    if profile:
        try:
            target = (resolve_profile or target_from_profile)(profile)
        except Exception as exc:  # ProfileError / ProfileNotFound, already worded for users
            errors["profile"] = str(exc)
            target = Target(base_url="", model="")
        target.base_url = base_url or target.base_url
        target.model = model or target.model
    else:
        if not base_url:
            errors["base_url"] = "required (or a profile)"
        if not model:
            errors["model"] = "required (the name the server serves)"
        target = Target(base_url=base_url, model=model)
    if target.base_url and not re.match(r"https?://[^/\s]+", target.base_url):
        errors["base_url"] = f"expected http://host:port, got {target.base_url!r}"
    key_env = text("api_key_env")
    if key_env:
        if not _ENV_NAME.match(key_env):
            errors["api_key_env"] = f"expected an environment variable name, got {key_env!r}"
        elif key_env not in os.environ:
            errors["api_key_env"] = f"${key_env} is not set in this environment"
        else:
            target.api_key_env = key_env
    return target, [FieldError(f, m) for f, m in errors.items()]
