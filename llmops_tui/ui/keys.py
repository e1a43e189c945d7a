"""Binding ids and the user's keymap in the app.

Every ``Binding`` in this package has an id ``<scope>.<action>`` (``engines.launch``,
``app.quit``). :func:`binding_catalogue` collects them from the classes' own ``BINDINGS`` (it
imports every module of the package: the screens opened later too), so ``llmops keys`` and
the keymap's checks see the app's real bindings, never a copy. :func:`load_user_keymap`
reads ``keymap.toml`` (``llmops_tui/keymap.py``) off the UI thread and hands it to
``App.set_keymap``: Textual then swaps the keys in every binding chain, and the footer shows
them; the help screen and the palette ask :func:`bound_key` / :func:`keymapped`.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from llmops_tui.ui.threads import to_ui

if TYPE_CHECKING:
    from textual.app import App


@dataclass(frozen=True)
class BoundKey:
    owner: str  # the class whose BINDINGS hold it: "EnginesTab"
    binding: Binding


def all_bindings() -> list[BoundKey]:
    """Every ``Binding`` in the ``BINDINGS`` of a class of ``llmops_tui.ui``, module by module."""
    import llmops_tui.ui as package

    out: list[BoundKey] = []
    names = sorted(m.name for m in pkgutil.walk_packages(package.__path__, "llmops_tui.ui."))
    for name in names:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == name:
                out += [
                    BoundKey(value.__name__, b)
                    for b in value.__dict__.get("BINDINGS", [])
                    if isinstance(b, Binding)
                ]
    return out


def binding_catalogue() -> dict[str, BoundKey]:
    """The bindings by id (tests/ui/test_keymap.py checks that each has one, unique)."""
    return {bound.binding.id: bound for bound in all_bindings() if bound.binding.id}


def binding_scopes(catalogue: dict[str, BoundKey]) -> dict[str, tuple[str, str]]:
    """Each id's (owning class, default keys): what the keymap's clash check compares."""
    return {i: (bound.owner, bound.binding.key) for i, bound in catalogue.items()}


def load_user_keymap(app: App[Any]) -> None:
    """Read the keymap file in a thread; a missing file costs one stat and shows nothing."""
    app.run_worker(lambda: _read(app), thread=True, group="keymap", exit_on_error=False)


def _read(app: App[Any]) -> None:
    from llmops_tui.keymap import keymap_path, read_keymap

    path = keymap_path()
    if not path.is_file():
        return
    try:
        catalogue = binding_catalogue()
        keymap, issues = read_keymap(catalogue.keys(), path, binding_scopes(catalogue))
        problems = [str(issue) for issue in issues]
    except Exception as exc:  # a keymap must never take the app down
        keymap, problems = {}, [f"{path}: not applied: {exc!r}"]
    to_ui(app, _apply, app, keymap, problems)


def _apply(app: App[Any], keymap: dict[str, str], problems: list[str]) -> None:
    app.user_keymap = keymap  # type: ignore[attr-defined]
    if keymap:
        app.set_keymap(keymap)
    for problem in problems:
        app.notify(problem, title="Keymap entry skipped", severity="warning", timeout=10)


def keymapped(app: App[Any], binding: Binding) -> Binding:
    """``binding`` with the keys the user's keymap gives it (itself when none)."""
    keys = getattr(app, "user_keymap", {}).get(binding.id) if binding.id else None
    return binding.with_key(keys, key_display=None) if keys else binding


def bound_key(app: App[Any], binding: Binding) -> str:
    """The keys of ``binding`` in force (``question_mark,f1``), for the help screen."""
    return keymapped(app, binding).key
