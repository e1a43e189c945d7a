"""The Engines tab's engine rows as text: one per record, plus what a record does not tell
(processes that outlived an ended engine, unreadable records, launches no record names),
so the tab shows what `llmops ps` shows. No Textual here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llmops_tui.ui.tabs.engines_log import format_duration

if TYPE_CHECKING:
    from llmops_tui.supervisor.lost import LostEngine
    from llmops_tui.supervisor.records import EngineRecord


def short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def progress_cell(r: EngineRecord) -> str:
    from llmops_tui.ui.tabs import engines_log

    if r.phase in ("starting", "loading"):
        return r.progress or "starting"
    if r.phase == "ready" and r.ready_at:
        return f"up {format_duration(engines_log.now() - r.ready_at)}"
    if r.phase == "sleeping":
        slept = getattr(r, "slept_at", None)
        return f"asleep {format_duration(engines_log.now() - slept)}" if slept else "asleep"
    if r.phase == "failed":
        return short(r.root_cause or "failed", 30)
    return ""


def merge_lost(
    records: list[EngineRecord], leftovers: dict[str, list[int]], lost: list[LostEngine]
) -> tuple[dict[str, list[int]], dict[str, LostEngine]]:
    """(name → pids still running, name → lost engine without a record row): a launch
    its record does not name counts as that record's leftovers."""
    left = {n: list(p) for n, p in leftovers.items()}
    names = {r.name for r in records}
    for x in lost:
        if x.name in names and x.pids:
            left[x.name] = left.get(x.name, []) + x.pids
    return left, {x.name: x for x in lost if x.name not in names}


def still_running(pids: list[int]) -> str:
    return f"{len(pids)} left running · s stops them"


def record_row(r: EngineRecord, left: list[int], busy: bool) -> tuple[str, ...]:
    phase = r.phase + (f" · {len(left)} left" if left else "") + (" …" if busy else "")
    progress = still_running(left) if left else progress_cell(r)
    return (
        r.name,
        phase,
        f"{r.host}:{r.port}",
        short(r.served_model_name, 26),
        short(progress, 30),
    )


def lost_row(x: LostEngine, busy: bool) -> tuple[str, ...]:
    phase = ("unreadable" if x.state_file else "no record") + (" …" if busy else "")
    progress = still_running(x.pids) if x.pids else "nothing running"
    address = f"127.0.0.1:{x.port}" if x.port else "?"
    return (x.name, phase, address, "?", short(progress, 30))


def lost_detail(x: LostEngine) -> str:
    pids = ", ".join(map(str, x.pids))
    tail = f" — running: pids {pids}; s stops them" if x.pids else " — nothing of it is running"
    return f"{x.reason}{tail}"


def leftover_detail(r: EngineRecord, pids: list[int]) -> str:
    return (
        f" — {len(pids)} process(es) still running after it ended "
        f"(pids {', '.join(map(str, pids))}): s stops them"
    )


def display_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working dir, else with ~."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        home = str(Path.home())
        text = str(path)
        return "~" + text[len(home) :] if text.startswith(home + "/") else text


def short_model(model: str, n: int = 30) -> str:
    """A repo id that fits: the org goes first (``…/Llama-3.1-70B-Instruct``)."""
    if len(model) > n and "/" in model and not model.startswith(("/", "~", ".")):
        model = "…/" + model.split("/", 1)[1]
    return short(model, n)


def error_text(exc: BaseException) -> str:
    """A one-paragraph message for a user: the exception's own words, no traceback."""
    issues = getattr(exc, "issues", None)
    if issues:
        return "\n".join(str(i) for i in issues[:6])
    text = str(exc).strip()
    return text or type(exc).__name__
