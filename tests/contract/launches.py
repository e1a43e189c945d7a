"""Build each matrix case's launch with the app's adapter, and what the engine should read."""

from __future__ import annotations

from dataclasses import dataclass

from matrix import Case, cases

from llmops_tui.engines import adapter
from llmops_tui.engines.base import LaunchRefused, LaunchSpec, expand

# The refusals an adapter may answer with, each for a reason the engine's own code gives.
KNOWN_REFUSALS = (
    "docker run -p binds an IP address only",  # docker/go-connections nat.go
    "TGI's router needs an IP address",  # TGI router/src/server.rs
)


@dataclass
class Built:
    case: Case
    spec: LaunchSpec | None
    refused: str | None = None
    form: str = ""


def build_all(engine: str, state_dir, python: str | None = None) -> tuple[list[Built], int]:
    """Every case's launch (or the adapter's refusal), and how many texts the check refused.
    ``python``: the interpreter native profiles name (default: a path that does not exist)."""
    made, check_refused = cases(engine, python) if python else cases(engine)
    out: list[Built] = []
    for case in made:
        try:
            spec = adapter(engine).build_launch(case.profile, environ={}, state_dir=state_dir)
        except LaunchRefused as exc:
            out.append(Built(case, None, str(exc)))
            continue
        out.append(Built(case, spec))
    return out, check_refused


def model_arg(built: Built) -> str:
    p = built.case.profile
    return expand(p.model) if p.is_local_model else p.model


def after(argv: list[str], marker: str) -> list[str]:
    return argv[argv.index(marker) + 1 :]


def unknown_refusals(built: list[Built]) -> list[str]:
    return [
        f"{b.case.id}: {b.refused}"
        for b in built
        if b.refused and not any(k in b.refused for k in KNOWN_REFUSALS)
    ]
