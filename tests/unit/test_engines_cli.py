"""`llmops up/down/ps/logs/swap` argument handling and exit codes (no engine started)."""

from __future__ import annotations

import json

import pytest

from llmops_tui.cli import main
from llmops_tui.commands.engines_cmd import EXIT_NOT_FOUND, EXIT_REFUSED
from llmops_tui.profiles.overrides import apply_overrides
from llmops_tui.profiles.profile import ProfileError
from llmops_tui.profiles.store import load_profile


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("port=8001", ("port", 8001)),
        ("gpu_memory_fraction=0.8", ("gpu_memory_fraction", 0.8)),
        ('gpus="0,1"', ("gpus", "0,1")),
        ("gpus=[0, 1]", ("gpus", "0,1")),
        ("gpus=2", ("gpus", "2")),
        ("model=/srv/models/x", ("model", "/srv/models/x")),
        ("trust_remote_code=true", ("trust_remote_code", True)),
        ('extra_args=["--enforce-eager"]', ("extra_args", ("--enforce-eager",))),
    ],
)
def test_set_override(item, expected, repo_root):
    profile = load_profile(repo_root / "profiles/tiny-vllm-cpu.toml")
    key, value = expected
    assert getattr(apply_overrides(profile, [item]), key) == value


def test_set_override_needs_an_equals_sign(repo_root):
    profile = load_profile(repo_root / "profiles/tiny-vllm-cpu.toml")
    with pytest.raises(ProfileError, match="expected KEY=VALUE"):
        apply_overrides(profile, ["port"])


def test_up_refused_exits_2_with_the_reason(capsys, repo_root):
    rc = main(["up", str(repo_root / "profiles/tiny-vllm-cpu.toml"), "--set", "model=/nope/x"])
    assert rc == EXIT_REFUSED
    assert "model path /nope/x does not exist" in capsys.readouterr().err


def test_up_unknown_field_override(capsys, repo_root):
    rc = main(["up", str(repo_root / "profiles/tiny-vllm-cpu.toml"), "--set", "colour=red"])
    assert rc == EXIT_REFUSED
    assert "--set colour: not a profile field" in capsys.readouterr().err


def test_up_unknown_profile_exits_4(capsys):
    assert main(["up", "no-such-profile"]) == EXIT_NOT_FOUND
    assert "no profile named 'no-such-profile'" in capsys.readouterr().err


def test_down_unknown_engine_exits_4(capsys):
    assert main(["down", "ghost"]) == EXIT_NOT_FOUND
    assert "no engine named 'ghost'" in capsys.readouterr().err


def test_ps_json_with_no_engines(capsys):
    assert main(["ps", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_logs_of_unknown_engine(capsys):
    assert main(["logs", "ghost"]) == EXIT_NOT_FOUND


def test_swap_from_unknown_engine(capsys, repo_root):
    rc = main(["swap", "ghost", str(repo_root / "profiles/tiny-vllm-cpu.toml")])
    assert rc == EXIT_NOT_FOUND
