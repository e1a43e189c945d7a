"""The README a new user reads first: the two commands and the demo path, design notes that
are in the repository, a sample screen that matches the shipped profiles."""

from __future__ import annotations

import re
from pathlib import Path

from llmops_tui.profiles.store import list_profiles

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_design_notes_live_in_the_repo():
    assert "../shared/DESIGN.md" not in README
    assert "docs/DESIGN.md" in README and (ROOT / "docs/DESIGN.md").is_file()
    design = (ROOT / "docs/DESIGN.md").read_text()
    # today's layout: packages, not the sketch's single modules
    for path in ("profiles/", "supervisor/", "hub/", "client/", "demo/", "launchable.py"):
        assert path in design, path
        assert (ROOT / "llmops_tui" / path).exists(), path


def test_readme_gives_the_two_commands_and_the_demo_path():
    assert "scripts/run " in README and "scripts/run demo" in README
    assert "llmops demo" in README and "LLMOPS_ENVS_DIR" in README


def test_sample_screen_matches_the_shipped_profiles():
    sample = README.split("```", 2)[1]
    shipped = {
        e.profile.name: f"{e.profile.host}:{e.profile.port}"
        for e in list_profiles([ROOT / "profiles"])
        if e.profile
    }
    rows = [
        line.split()
        for line in sample.splitlines()
        if line.split()[:1] and line.split()[0] in shipped
    ]
    names = [r[0] for r in rows]
    assert sorted(names) == sorted(shipped), names  # each profile once
    for r in rows:
        addresses = [c for c in r if re.fullmatch(r"[\d.]+:\d+", c)]
        assert addresses == [shipped[r[0]]], r
