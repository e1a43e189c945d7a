"""The user's keymap: ``keymap.toml`` in the config dir remaps the TUI's keys by binding id.

No Textual here (the parsing and checks are plain TOML and strings): ``ui/keys.py`` reads the
file off the UI thread at start-up, hands this module the ids of the app's real bindings,
and gives what passes to ``App.set_keymap``; each problem is shown as a notification.
``llmops keys`` lists the ids and the keys in force.

File format::

    [keys]
    "engines.launch" = "L"            # one key
    "app.quit" = "ctrl+q,q"           # or several, comma-separated

A key is a character (``L``, ``?``), a named key (``escape``, ``f5``, ``pageup``, ``space``)
or a character's name (``question_mark``, ``slash``), after optional modifiers
(``ctrl+``, ``shift+``, ``alt+``, ``super+``, ``meta+``, ``hyper+``). A problem names the file,
the line and the field, as profile problems do (``profiles.ProfileIssue``); the other entries
still apply. An entry that gives a key another binding of the same class already has in force
is a problem too (:func:`clashes`).
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from llmops_tui.config import paths
from llmops_tui.profiles.profile import ProfileIssue
from llmops_tui.profiles.toml_text import LineIndex, load_toml

KEYMAP_FILE = "keymap.toml"
TABLE = "keys"
MODIFIERS = frozenset({"ctrl", "shift", "alt", "super", "meta", "hyper"})
# Textual's names of keys that are not characters (textual.keys.Keys; tests/ui checks them).
NAMED_KEYS = frozenset(
    {
        "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end",
        "pageup", "pagedown", "up", "down", "left", "right",
        *(f"f{n}" for n in range(1, 25)),
    }
)  # fmt: skip
# Textual's short names of some characters (textual.keys.KEY_NAME_REPLACEMENTS).
CHARACTER_ALIASES = frozenset({"slash", "backslash", "at", "minus", "plus", "underscore"})


def keymap_path() -> Path:
    return paths().config / KEYMAP_FILE


def key_problem(key: str) -> str | None:
    """What is wrong with one key (``ctrl+l``), or None when Textual can bind it."""
    if not key:
        return "empty key"
    *mods, base = key.split("+") if len(key) > 1 else [key]
    for mod in mods:
        if mod not in MODIFIERS:
            return (
                f"unknown modifier {mod!r} in {key!r} (modifiers: {', '.join(sorted(MODIFIERS))})"
            )
    if len(set(mods)) != len(mods):
        return f"a modifier is repeated in {key!r}"
    if len(base) == 1:
        if base.isspace() or not base.isprintable():
            return f"{key!r}: write a blank or control character by its name (space, tab, enter)"
        return None
    if base in NAMED_KEYS or base in CHARACTER_ALIASES:
        return None
    try:
        char = unicodedata.lookup(base.replace("_", " "))
    except KeyError:
        char = ""
    if len(char) == 1 and char.isprintable() and not char.isspace():
        return None
    return (
        f"unknown key {base!r} in {key!r} (a character such as L or ?, a named key such as "
        "escape, f5, pageup, space, or a character's name such as question_mark)"
    )


def parse_keymap(
    text: str,
    file: str,
    binding_ids: Collection[str],
    scopes: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[dict[str, str], list[ProfileIssue]]:
    """The keymap in ``text`` (binding id → keys) and the problems found; the entries with a
    problem are left out, the others kept. With ``scopes`` (binding id → (the class whose
    bindings hold it, its default keys)), an entry that gives a key another binding of the
    same class has in force is a problem too: one of the two could never be pressed."""
    data = load_toml(text, file)
    if isinstance(data, ProfileIssue):
        return {}, [data]
    lines = LineIndex(text)
    issues: list[ProfileIssue] = []
    for name in data:
        if name != TABLE:
            line = lines.line(name)
            issues.append(
                ProfileIssue(file, name, f"unknown entry (the keys go in a [{TABLE}] table)", line)
            )
    table: Any = data.get(TABLE, {})
    if not isinstance(table, dict):
        issues.append(ProfileIssue(file, TABLE, "expected a table: [keys]", lines.line(TABLE)))
        return {}, issues
    keymap: dict[str, str] = {}
    for binding_id, value in table.items():
        line = lines.line(binding_id, TABLE)
        problem = _entry_problem(binding_id, value, binding_ids)
        if problem:
            issues.append(ProfileIssue(file, binding_id, problem, line))
        else:
            keymap[binding_id] = ",".join(k.strip() for k in value.split(","))
    if scopes:
        for binding_id, problem in clashes(keymap, scopes):
            issues.append(ProfileIssue(file, binding_id, problem, lines.line(binding_id, TABLE)))
            del keymap[binding_id]
    return keymap, issues


def key_identity(key: str) -> str:
    """One spelling per key, to compare them: ``?`` and ``question_mark`` are one key."""
    *mods, base = key.split("+") if len(key) > 1 else [key]
    if len(base) > 1 and base not in NAMED_KEYS:
        try:
            base = unicodedata.lookup(base.replace("_", " "))
        except KeyError:
            pass
    return "+".join([*sorted(mods), base])


def clashes(
    keymap: Mapping[str, str], scopes: Mapping[str, tuple[str, str]]
) -> list[tuple[str, str]]:
    """The keymap's entries (binding id, why) that give a key which another binding of the same
    class has in force, in the file's order. Checked on the keys in force with every entry
    applied, so two entries that swap keys are fine; an entry left out brings its binding's
    default back, which is checked again."""
    keymap = dict(keymap)
    found: list[tuple[str, str]] = []
    while True:
        in_force = keys_in_force({i: keys for i, (_scope, keys) in scopes.items()}, keymap)
        holders: dict[tuple[str, str], list[str]] = {}
        for binding_id, keys in in_force.items():
            scope = scopes[binding_id][0]
            for key in {key_identity(k.strip()) for k in keys.split(",") if k.strip()}:
                holders.setdefault((scope, key), []).append(binding_id)
        bad = None
        for binding_id, keys in keymap.items():
            scope = scopes.get(binding_id, ("", ""))[0]
            for key in keys.split(","):
                others = [i for i in holders.get((scope, key_identity(key)), []) if i != binding_id]
                if others:
                    bad = (binding_id, f"{key!r} is already {others[0]}'s key; "
                           "one of the two could never be pressed")  # fmt: skip
                    break
            if bad:
                break
        if bad is None:
            return found
        found.append(bad)
        del keymap[bad[0]]


def _entry_problem(binding_id: str, value: Any, binding_ids: Collection[str]) -> str | None:
    if binding_id not in binding_ids:
        close = difflib.get_close_matches(binding_id, list(binding_ids), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else " (`llmops keys` lists them)"
        return f"unknown binding id{hint}"
    if not isinstance(value, str):
        return f'expected a string of keys such as "ctrl+l" or "L,f5", got {type(value).__name__}'
    for key in value.split(","):
        problem = key_problem(key.strip())
        if problem:
            return problem
    return None


def read_keymap(
    binding_ids: Collection[str],
    path: Path | None = None,
    scopes: Mapping[str, tuple[str, str]] | None = None,
) -> tuple[dict[str, str], list[ProfileIssue]]:
    """The user's keymap file read and checked; a missing file is an empty keymap, no issue."""
    path = path or keymap_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [ProfileIssue(str(path), None, f"cannot read: {exc}")]
    return parse_keymap(text, str(path), binding_ids, scopes)


def keys_in_force(defaults: Mapping[str, str], keymap: Mapping[str, str]) -> dict[str, str]:
    """Each binding id's keys: the keymap's where it has one, else the default."""
    return {binding_id: keymap.get(binding_id, keys) for binding_id, keys in defaults.items()}
