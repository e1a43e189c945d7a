"""``--set KEY=VALUE`` overrides of a profile (``llmops up``/``swap``), checked like the fields of
a profile file: the same types, ranges and engine rules, each problem named ``--set KEY``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from llmops_tui.profiles.profile import Profile, ProfileError, ProfileIssue
from llmops_tui.profiles.schema import SCHEMA
from llmops_tui.profiles.toml_text import MAX_NESTING, nesting_too_deep, tomllib

WHERE = "--set"
LAUNCHERS = ("python", "executable", "engine_env")  # how the engine is started: one of them


def _issue(field: str | None, message: str) -> ProfileIssue:
    """Shown as ``--set port: expected an integer …`` (the file's place is the option)."""
    return ProfileIssue(f"{WHERE} {field}" if field else WHERE, None, message)


def _error(field: str | None, message: str) -> ProfileError:
    return ProfileError([_issue(field, message)])


def _named(issues: list[ProfileIssue]) -> ProfileError:
    return ProfileError([_issue(i.field, i.message) for i in issues])


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` with the value read as TOML (a bare word is a string). Raises ProfileError."""
    if "=" not in item:
        raise _error(None, f"{item!r}: expected KEY=VALUE")
    key, raw = item.split("=", 1)
    key = key.strip()
    if nesting_too_deep(raw) is not None:
        raise _error(key, f"value nested more than {MAX_NESTING} deep")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:
        raise _error(key, "value nested too deeply to read") from None
    return key, value


def _current(profile: Profile) -> dict[str, Any]:
    """The profile's fields as the checker sees them (only those set)."""
    out: dict[str, Any] = {}
    for f in fields(Profile):
        value = getattr(profile, f.name)
        if f.name in ("path", "description") or value is None or value == ():
            continue
        if f.name == "env":
            if value:
                out["env"] = dict(value)
            continue
        out[f.name] = value
    return out


def apply_overrides(profile: Profile, items: Iterable[str]) -> Profile:
    """``profile`` with ``--set`` items applied; ProfileError lists every problem they bring."""
    from llmops_tui.profiles.validation import _check_types, _check_values, _Checker

    settable = ({f.name for f in fields(Profile)} & set(SCHEMA)) - {"name"}
    raw: dict[str, Any] = {}
    issues: list[ProfileIssue] = []
    for item in items:
        try:
            key, value = parse_override(item)
        except ProfileError as exc:
            issues += exc.issues
            continue
        if key not in settable:
            issues.append(_issue(key, "not a profile field you can override"))
            continue
        raw[key] = value
    if issues:
        raise ProfileError(issues)
    if not raw:
        return profile
    c = _Checker(WHERE, "")
    changes = _check_types(c, raw)
    if c.issues:
        raise _named(c.issues)
    base = _Checker(WHERE, "")
    _check_values(base, _current(profile))
    before = {str(i) for i in base.issues}
    launcher = [k for k in LAUNCHERS if k in changes]
    if len(launcher) == 1:  # --set python=… replaces the profile's env/executable, not adds to it
        for k in LAUNCHERS:
            if k not in changes:
                changes[k] = None
    merged = {k: v for k, v in {**_current(profile), **changes}.items() if v is not None}
    _check_values(c, merged)
    new = [i for i in c.issues if i.severity == "error" and str(i) not in before]
    if new:
        raise _named(new)
    return profile.with_overrides(**changes)
