"""A headless command imports only what it runs: its own command module, no asyncio."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys

import pytest

from llmops_tui import cli


def test_command_owners_match_what_each_module_registers():
    found = {}
    for name in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(f"llmops_tui.commands.{name}").register(sub)
        found.update(dict.fromkeys(sub.choices, name))
    assert found == cli.COMMAND_OWNERS


def test_ps_and_swap_leave_other_commands_and_asyncio_unimported(tmp_path):
    """`llmops swap` on the H200 spent 0.4 s outside its engine calls; the parser used to import
    all nine command modules (bench's workload presets among them) and the supervisor asyncio."""
    code = (
        "import sys\n"
        "from llmops_tui.cli import main\n"
        "rc = main(['ps', '--json'])\n"
        "rc2 = main(['swap', 'nope-a', 'nope-b'])\n"
        "mods = ('asyncio', 'llmops_tui.bench.workload', 'llmops_tui.commands.bench_cmd',\n"
        "        'llmops_tui.commands.chat_cmd', 'llmops_tui.commands.bakeoff_cmd')\n"
        "print(rc, rc2, ','.join(m for m in mods if m in sys.modules))\n"
    )
    env = {
        **os.environ,
        "LLMOPS_STATE_DIR": str(tmp_path / "state"),
        "LLMOPS_CONFIG_DIR": str(tmp_path / "c"),
        "LLMOPS_PROFILES": str(tmp_path / "c" / "p"),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    rc, rc2, loaded = [*out.stdout.strip().splitlines()[-1].split(" "), ""][:3]
    assert rc == "0", out.stderr
    assert rc2 == "4", out.stderr  # no such engine: the command ran its own path
    assert loaded == ""


def test_unknown_word_still_gets_every_command_in_the_error(capsys):
    with pytest.raises(SystemExit):
        cli.main(["swpa"])
    err = capsys.readouterr().err
    assert "invalid choice: 'swpa'" in err and "'swap'" in err and "'bench'" in err
