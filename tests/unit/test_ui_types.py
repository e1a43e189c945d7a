"""The UI's types: its ``if TYPE_CHECKING:`` imports name what exists (nothing runs them at
start-up, so a rename in the core would go unnoticed), and a type checker takes the
message seam and the engine rows."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "llmops_tui" / "ui"


def type_checking_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of each import under ``if TYPE_CHECKING:`` in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    out += [(stmt.module, alias.name) for alias in stmt.names]
    return out


def test_the_ui_type_checking_imports_name_what_exists():
    found = {p.name: type_checking_imports(p) for p in sorted(UI.rglob("*.py"))}
    assert sum(len(v) for v in found.values()) >= 20  # the UI does use them
    missing = [
        f"{file}: from {module} import {name}"
        for file, imports in found.items()
        for module, name in imports
        if not hasattr(importlib.import_module(module), name)
    ]
    assert missing == []


def test_a_type_checker_takes_the_message_seam_and_engine_rows(tmp_path):
    """Skipped where mypy is absent (as the engine contract's check)."""
    api = pytest.importorskip("mypy.api")
    files = [str(UI / "messages.py"), str(UI / "tabs" / "engines_rows.py")]
    args = ["--follow-imports=silent", "--ignore-missing-imports", "--no-error-summary"]
    out, err, rc = api.run([*args, "--cache-dir", str(tmp_path / "cache"), *files])
    assert rc == 0, out + err
