"""The `llmops` command line: help, version, profiles list/check exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from llmops_tui import __version__
from llmops_tui.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmops_tui", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_headless_commands():
    out = run_cli("--help")
    assert out.returncode == 0
    assert "profiles" in out.stdout and "headless commands" in out.stdout


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"llmops {__version__}"


def test_check_shipped_profiles_passes():
    files = sorted(str(p) for p in (ROOT / "profiles").glob("*.toml"))
    out = run_cli("profiles", "check", *files)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count(": ok (") == len(files)


def test_check_prints_every_error_and_exits_1(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('engine = "vllm"\nmodel = "org/m"\n')
    bad = tmp_path / "bad.toml"
    bad.write_text('engine = "tgi"\nmodel = "org/m"\npipeline_parallel = 2\nport = 0\n')
    rc = main(["profiles", "check", str(good), str(bad)])
    captured = capsys.readouterr()
    assert rc == 1
    assert f"{bad}:3: pipeline_parallel: TGI has no pipeline parallelism" in captured.err
    assert f"{bad}:4: port: 0 is out of range" in captured.err
    assert "1 of 2 profile(s) invalid" in captured.err
    assert f"{good}: ok" in captured.out


def test_check_missing_file(tmp_path, capsys):
    rc = main(["profiles", "check", str(tmp_path / "nope.toml")])
    assert rc == 1
    assert "no such file" in capsys.readouterr().err


def test_list_json_uses_search_path(tmp_path, monkeypatch, capsys):
    (tmp_path / "a.toml").write_text('engine = "sglang"\nmodel = "org/m"\n')
    (tmp_path / "b.toml").write_text('engine = "sglang"\n')
    monkeypatch.setenv("LLMOPS_PROFILES", str(tmp_path))
    assert main(["profiles", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["ok"]) for r in rows] == [("a", True), ("b", False)]
    assert rows[0]["port"] == 30000
    assert "model: missing" in rows[1]["errors"][0]


def test_tui_tab_choices_are_the_apps_tabs(monkeypatch):
    from llmops_tui import cli
    from llmops_tui.ui.app import TABS

    assert [tab_id for tab_id, _ in TABS] == cli.TAB_IDS
    opened: list[str] = []

    class FakeApp:
        def __init__(self, initial_tab: str) -> None:
            opened.append(initial_tab)

        def run(self) -> None:
            pass

    monkeypatch.setattr("llmops_tui.ui.app.LlmopsApp", FakeApp)
    monkeypatch.setattr("gc.disable", lambda: None)
    assert main(["tui", "--tab", "chat"]) == 0
    assert main(["tui"]) == 0
    assert opened == ["chat", "engines"]
    out = run_cli("tui", "--tab", "nope")
    assert out.returncode == 2 and "invalid choice: 'nope'" in out.stderr
