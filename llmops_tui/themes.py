"""Theme files: TOML colour sets loaded at start (built-in ``themes/`` + the user's config dir).

No Textual here: a theme is a plain ``ThemeSpec``; ``ui/app.py`` turns it into a
``textual.theme.Theme``. A bad theme file is reported (file, field, what was expected)
and skipped; it never stops the app from starting.

File format (``themes/llmops-dark.toml``)::

    name = "llmops-dark"
    dark = true
    primary = "#4EA1FF"
    background = "#0F1419"
    ...
    [variables]            # optional Textual CSS variables
    footer-key-foreground = "#4EA1FF"
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from llmops_tui.config import paths

COLOR_KEYS = (
    "primary", "secondary", "accent", "foreground", "background", "surface", "panel",
    "boost", "success", "warning", "error",
)  # fmt: skip
COLOR_RE = re.compile(r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
DEFAULT_THEME = "llmops-dark"


@dataclass(frozen=True)
class ThemeSpec:
    name: str
    dark: bool
    colors: dict[str, str]
    variables: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


class ThemeFileError(ValueError):
    pass


def builtin_themes_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "themes"


def parse_theme(text: str, file: str = "<theme>") -> ThemeSpec:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{file}: invalid TOML: {exc}") from None
    errors: list[str] = []
    name = data.get("name")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_-]*$", name or ""):
        errors.append(f"{file}: name: expected a name of letters, digits, '-' or '_'")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        errors.append(f"{file}: dark: expected true or false")
    if "primary" not in data:
        errors.append(f'{file}: primary: missing; expected a colour like "#4EA1FF"')
    colors: dict[str, str] = {}
    for key, value in data.items():
        if key in ("name", "dark", "variables"):
            continue
        if key not in COLOR_KEYS:
            errors.append(f"{file}: {key}: unknown field; expected one of {', '.join(COLOR_KEYS)}")
        elif not isinstance(value, str) or not COLOR_RE.match(value):
            errors.append(f'{file}: {key}: expected a colour like "#4EA1FF", got {value!r}')
        else:
            colors[key] = value
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        errors.append(f'{file}: variables: expected a table of name = "value" strings')
        variables = {}
    if errors:
        raise ThemeFileError("\n".join(errors))
    return ThemeSpec(name=name, dark=dark, colors=colors, variables=dict(variables))


def load_themes(dirs: list[Path] | None = None) -> tuple[list[ThemeSpec], list[str]]:
    """Themes from the built-in dir then the user's (a user theme replaces a built-in one of
    the same name). Returns (themes, error messages)."""
    if dirs is None:
        dirs = [builtin_themes_dir(), paths().user_themes]
    by_name: dict[str, ThemeSpec] = {}
    errors: list[str] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.toml")):
            try:
                spec = parse_theme(path.read_text(encoding="utf-8"), str(path))
            except (ThemeFileError, OSError, UnicodeDecodeError) as exc:
                errors.append(str(exc))
                continue
            by_name[spec.name] = ThemeSpec(spec.name, spec.dark, spec.colors, spec.variables, path)
    return list(by_name.values()), errors


# Remembered settings (theme choice) in config/settings.json.


def _settings_path() -> Path:
    return paths().config / "settings.json"


def load_settings() -> dict:
    try:
        data = json.loads(_settings_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def save_setting(key: str, value) -> None:
    data = load_settings()
    data[key] = value
    path = _settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    tmp.replace(path)


def remembered_theme() -> str:
    value = load_settings().get("theme")
    return value if isinstance(value, str) and value else DEFAULT_THEME
