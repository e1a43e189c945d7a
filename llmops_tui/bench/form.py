"""The Load test tab's forms, without Textual: the targets offered, the Bake-off pane's parsing.

The Run form's values become a plan through :func:`llmops_tui.bench.plan.build_plan`, the
builder ``llmops bench`` uses too. :class:`FormError` carries bad fields to the tab
(``by_field``: field name → message, shown next to that field).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class FormError(ValueError):
    """Bad values in the form; ``by_field`` maps field name → what is wrong and expected."""

    def __init__(self, by_field: dict[str, str]):
        self.by_field = dict(by_field)
        super().__init__("; ".join(self.errors))

    @property
    def errors(self) -> list[str]:
        """``"field: message"`` lines, in form order."""
        return [f"{k}: {v}" for k, v in self.by_field.items()]


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
