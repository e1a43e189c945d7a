"""Every Binding of the UI has an id ``<scope>.<action>``, unique: a user keymap names them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from llmops_tui.ui.keys import all_bindings, binding_catalogue

UI = Path(__file__).resolve().parents[2] / "llmops_tui" / "ui"


def test_every_binding_has_a_unique_id():
    bound = all_bindings()
    ids = [b.binding.id for b in bound]
    assert len(bound) >= 45  # the app's, each tab's, each modal screen's
    assert None not in ids, [f"{b.owner}: {b.binding.key}" for b in bound if not b.binding.id]
    duplicated = {i for i in ids if ids.count(i) > 1}
    assert not duplicated
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_]+", i) for i in ids), ids
    assert set(binding_catalogue()) == set(ids)


def test_every_binding_call_in_the_source_names_an_id():
    """Also a Binding made outside BINDINGS (which all_bindings would not see)."""
    missing = []
    for path in sorted(UI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_binding = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Binding"
            if is_binding and not any(k.arg == "id" for k in node.keywords):
                missing.append(f"{path.name}:{node.lineno}")
    assert not missing


def test_no_tuple_bindings():
    """A ("q", "quit", "Quit") tuple has no id: a keymap could not remap it."""
    tuples = []
    for path in sorted(UI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "BINDINGS" for t in node.targets
            ):
                elts = getattr(node.value, "elts", [])
                tuples += [f"{path.name}:{e.lineno}" for e in elts if isinstance(e, ast.Tuple)]
    assert not tuples
