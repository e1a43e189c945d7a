"""Can a valid profile launch on this box? ("valid" is the file; "launchable here" is the
box: its model path, GPUs, Docker, interpreter or engine env.)

Read-only: the supervisor's own preflight checks (``supervisor/preflight.py``) and the
launch-env check (``envs/launch.py``, through the probe cache) are called, nothing is
started. The port is not checked: a taken port is a moment's state, not the box's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from shutil import which
from typing import Any


@dataclass
class Launchability:
    ok: bool
    short: str  # for a table cell: "launchable" or the first reason in a few words
    reasons: list[str] = field(default_factory=list)  # every reason, in full

    @property
    def label(self) -> str:
        if self.ok:
            return "✓ launchable"
        more = f" (+{len(self.reasons) - 1})" if len(self.reasons) > 1 else ""
        return f"✗ {self.short}{more}"


def launchability(profile: Any) -> Launchability:
    """Every reason ``profile`` cannot launch here (none: it can)."""
    from llmops_tui.supervisor.preflight import gpu_problems

    found: list[tuple[str, str]] = []  # (short, full)
    if profile.is_local_model:
        mp = profile.model_path
        if mp is not None and not mp.exists():
            found.append(("no model", f"model path {mp} does not exist"))
    for problem in gpu_problems(profile):
        short = "no GPU" if "no GPU can be checked" in problem else "GPU missing"
        found.append((short, problem))
    if profile.runtime == "docker":
        if which("docker") is None:
            found.append(("no Docker", "runtime = docker but `docker` is not on PATH"))
    else:
        found += _engine_problems(profile)
    if not found:
        return Launchability(True, "launchable")
    home = str(Path.home())
    return Launchability(False, found[0][0], [full.replace(home, "~") for _, full in found])


def _engine_problems(profile: Any) -> list[tuple[str, str]]:
    from llmops_tui.envs.launch import check_launch_env
    from llmops_tui.envs.records import EnvError

    try:
        check_launch_env(profile)
    except EnvError as exc:
        text = str(exc)
        prefix = f"profile '{profile.name}': "
        full = text[len(prefix) :] if text.startswith(prefix) else text
        if profile.engine_env:
            short = (
                f"no env {profile.engine_env}"
                if "no engine environment" in text
                else (f"env {profile.engine_env} unusable")
            )
        elif "does not import" in text or "has no engine" in text or "holds" in text:
            short = f"no {profile.engine} in env"
        elif profile.python:
            short = "no interpreter"
        else:
            short = "not on PATH"
        return [(short, full)]
    return []


def launchability_all(profiles: list[Any]) -> dict[str, Launchability]:
    out: dict[str, Launchability] = {}
    for p in profiles:
        try:
            out[p.name] = launchability(p)
        except Exception as exc:  # a check that breaks must not hide the others
            out[p.name] = Launchability(False, "check failed", [f"{type(exc).__name__}: {exc}"])
    return out
