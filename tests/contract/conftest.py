"""The contract tier: every launch line the adapters build, checked against the engines' own
argument parsers (vLLM, SGLang: run inside the CI engine env's interpreter, never imported by
the app or by pytest's process) or the launcher's flag table read from its source (TGI).

Needs ``scripts/setup-vllm-cpu`` (the ci-vllm env) and ``scripts/setup-contract-engines``
(the pinned SGLang folder); ``scripts/test contract`` runs both. Without them the engine
tests skip, unless ``LLMOPS_REQUIRE_CONTRACT=1`` (CI), where a missing engine fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# Read at import: the root conftest clears LLMOPS_ENVS_DIR for each test.
ENVS_DIR = Path(os.environ.get("LLMOPS_ENVS_DIR") or Path.home() / ".cache/llmops-ci/envs")
CONTRACT_DIR = Path(
    os.environ.get("LLMOPS_CONTRACT_DIR") or Path.home() / ".cache/llmops-ci/contract"
)
REQUIRE = os.environ.get("LLMOPS_REQUIRE_CONTRACT") == "1"
SGLANG_VERSION = "0.5.23"
VLLM_VERSION = "0.32.0"


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        msg = f"{what} missing at {path} (scripts/setup-vllm-cpu, scripts/setup-contract-engines)"
        if REQUIRE:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def engine_python() -> Path:
    """The ci-vllm env's interpreter (vllm-cpu 0.32.0, CPU torch)."""
    return _need(ENVS_DIR / "ci-vllm" / "bin" / "python", "the ci-vllm engine env")


@pytest.fixture(scope="session")
def sglang_dir() -> Path:
    return _need(CONTRACT_DIR / f"sglang-{SGLANG_VERSION}", f"sglang {SGLANG_VERSION}")


def run_probe(python: Path, script: str, payload: dict, pythonpath: Path | None = None) -> dict:
    """Run tests/contract/<script> in the engine interpreter with a JSON payload on stdin;
    returns the JSON it prints last. One process for a whole matrix."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VLLM_")}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    env["TOKENIZERS_PARALLELISM"] = "false"
    proc = subprocess.run(
        [str(python), str(HERE / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=HERE,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@probe@@")]
    if proc.returncode != 0 or not lines:
        raise AssertionError(
            f"{script} exited {proc.returncode}\nstdout tail: {proc.stdout[-2000:]}\n"
            f"stderr tail: {proc.stderr[-4000:]}"
        )
    return json.loads(lines[-1][len("@@probe@@") :])
