"""The app's CSS lives in .tcss files (ui/styles.py), not in the widgets' DEFAULT_CSS."""

from __future__ import annotations

import ast
from pathlib import Path

from llmops_tui.ui.styles import CSS_PATHS

UI = Path(__file__).resolve().parents[2] / "llmops_tui" / "ui"

# Classes allowed to keep a DEFAULT_CSS (a widget meant to be reused outside the app, say
# why here). None today: every style is in ui/app.tcss or ui/tabs/<tab>.tcss.
ALLOWED: frozenset[str] = frozenset()


def default_css_classes(root: Path = UI) -> set[str]:
    found = set()
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            for stmt in node.body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else []
                if isinstance(stmt, ast.AnnAssign):
                    targets = [stmt.target]
                if any(getattr(t, "id", None) == "DEFAULT_CSS" for t in targets):
                    found.add(f"{path.relative_to(root)}:{node.name}")
    return found


def test_no_default_css_in_ui():
    assert default_css_classes() == set(ALLOWED)


def test_the_scan_sees_a_default_css(tmp_path):
    (tmp_path / "w.py").write_text('class W:\n    DEFAULT_CSS = "W { height: 1; }"\n')
    assert default_css_classes(tmp_path) == {"w.py:W"}


def test_every_stylesheet_is_loaded():
    on_disk = {p.resolve() for p in UI.rglob("*.tcss")}
    assert on_disk == {Path(p).resolve() for p in CSS_PATHS}
