"""Nothing below ``ui/`` imports Textual or Rich: every package outside ``llmops_tui.ui`` is
imported in a fresh interpreter and the test fails if ``textual`` or ``rich`` got loaded."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import llmops_tui


def _modules_outside_ui() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(llmops_tui.__path__, "llmops_tui."):
        if info.name == "llmops_tui.ui" or info.name.startswith("llmops_tui.ui."):
            continue
        if info.name == "llmops_tui.__main__":
            continue  # runs the CLI when imported
        names.append(info.name)
    return names


def test_the_walk_finds_the_core_packages():
    names = _modules_outside_ui()
    for expected in ("llmops_tui.supervisor.core", "llmops_tui.bench.runner", "llmops_tui.cli"):
        assert expected in names


def test_no_module_outside_ui_loads_textual_or_rich():
    names = _modules_outside_ui()
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}:\n"
        "    importlib.import_module(n)\n"
        "    bad = [m for m in ('textual', 'rich') if m in sys.modules]\n"
        "    if bad:\n"
        "        print(n, ','.join(bad)); break\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "", f"imports Textual/Rich outside ui/: {out.stdout.strip()}"


def _imports_of(path) -> set[str]:
    import ast

    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_the_shell_and_the_palette_do_not_import_the_app():
    """The app hands the palette its commands (LlmopsApp.palette_commands): the modules the app
    imports never import it back, not even lazily inside a function."""
    from pathlib import Path

    ui = Path(llmops_tui.__file__).parent / "ui"
    for name in ("shell.py", "palette.py"):
        back = {m for m in _imports_of(ui / name) if m.startswith("llmops_tui.ui.app")}
        assert not back, f"ui/{name} imports {sorted(back)}"
