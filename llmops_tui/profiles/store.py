"""Profiles on disk: loading, listing, finding by name, writing TOML."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from llmops_tui.config import profile_search_path
from llmops_tui.profiles.profile import Profile, ProfileError, ProfileIssue
from llmops_tui.profiles.toml_text import field_line
from llmops_tui.profiles.validation import check_profile_file, parse_profile


def load_profile(path: str | os.PathLike[str]) -> Profile:
    profile, issues = check_profile_file(path)
    errors = [i for i in issues if i.severity == "error"]
    if errors or profile is None:
        raise ProfileError(errors)
    return profile


@dataclass(frozen=True)
class ProfileEntry:
    path: Path
    profile: Profile | None
    issues: list[ProfileIssue]
    hidden: tuple[Path, ...] = ()  # files in the same folder with the same name, not listed

    @property
    def name(self) -> str:
        return self.profile.name if self.profile else self.path.stem

    @property
    def ok(self) -> bool:
        return self.profile is not None


def _entry(path: Path) -> ProfileEntry:
    try:
        profile, issues = check_profile_file(path)
    except Exception as exc:  # a checker bug on one odd file must not hide every other profile
        issues = [ProfileIssue(str(path), None, f"cannot check: {type(exc).__name__}: {exc}")]
        profile = None
    return ProfileEntry(path, profile, issues)


def _with_hidden(first: ProfileEntry, other: Path) -> ProfileEntry:
    """``first`` with a warning that ``other`` (same folder, same name) is hidden by it."""
    try:
        line = field_line(first.path.read_text(encoding="utf-8"), "name")
    except (OSError, UnicodeDecodeError):
        line = None
    warning = ProfileIssue(
        str(first.path),
        "name",
        f"'{first.name}' is also the name of {other}, which is hidden (not listed, not "
        "launchable by name); rename one of them",
        line,
        severity="warning",
    )
    return replace(first, issues=[*first.issues, warning], hidden=(*first.hidden, other))


def list_profiles(dirs: Iterable[Path] | None = None) -> list[ProfileEntry]:
    """Every ``*.toml`` in the search path, validated; a name seen in an earlier folder shadows
    later ones (your profiles shadow shipped ones). Two files of one folder with the same name:
    the first (by file name) is listed, with a warning naming the one it hides."""
    first_dir: dict[str, Path] = {}
    index: dict[str, int] = {}
    out: list[ProfileEntry] = []
    for d in profile_search_path() if dirs is None else dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            entry = _entry(path)
            name = entry.name
            if name in first_dir:
                if first_dir[name] == d:
                    out[index[name]] = _with_hidden(out[index[name]], path)
                continue
            first_dir[name] = d
            index[name] = len(out)
            out.append(entry)
    return out


def same_name_note(entries: Iterable[ProfileEntry]) -> str | None:
    """One line naming the files hidden by a file of the same folder and name, or None."""
    twins = [
        f"{e.path.name} hides {', '.join(h.name for h in e.hidden)}" for e in entries if e.hidden
    ]
    return "; ".join(twins) + " (same profile name): rename one" if twins else None


class ProfileNotFound(LookupError):
    pass


def find_profile(name_or_path: str, dirs: Iterable[Path] | None = None) -> Profile:
    """A profile by name (search path) or by file path. Raises ProfileError/ProfileNotFound."""
    candidate = Path(name_or_path).expanduser()
    if name_or_path.endswith(".toml") or candidate.is_file():
        return load_profile(candidate)
    entries = list_profiles(dirs)
    for entry in entries:
        if entry.name == name_or_path:
            if entry.profile is None:
                raise ProfileError([i for i in entry.issues if i.severity == "error"])
            return entry.profile
    names = [e.name for e in entries]
    close = difflib.get_close_matches(name_or_path, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    where = ", ".join(str(d) for d in (profile_search_path() if dirs is None else dirs))
    raise ProfileNotFound(f"no profile named '{name_or_path}' in {where}{hint}")


# ---------------------------------------------------------------------------
# Writing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def to_toml(profile: Profile) -> str:
    """Serialise a profile; only fields that differ from the defaults are written."""
    defaults = Profile(name=profile.name, engine=profile.engine, model=profile.model)
    lines: list[str] = []
    for f in fields(Profile):
        if f.name in ("path", "env"):
            continue
        value = getattr(profile, f.name)
        if f.name in ("name", "engine", "model"):
            lines.append(f"{f.name} = {_toml_value(value)}")
            continue
        if f.name == "port" or value != getattr(defaults, f.name):
            if value is None or value == () or value == "":
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
    if profile.env:
        lines.append("")
        lines.append("[env]")
        for k, v in profile.env.items():
            lines.append(f"{k} = {_toml_value(v)}")
    return "\n".join(lines) + "\n"


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> Path:
    """Validate then write atomically; raises ProfileError if the result would not load."""
    text = to_toml(profile)
    parse_profile(text, path)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, p)
    return p
