"""Shared test fixtures and the test tiers.

Tiers are folders: tests/unit (default, fast, no processes), tests/contract (every launch
line against the engines' own parsers, in the CI engine env; no GPU), tests/ui (Textual
Pilot and snapshots), tests/integration (real processes on loopback: the real
vLLM CPU build, local HTTP servers), tests/faults (fault injection: broken databases,
profiles and engine state files, signals, kill -9, concurrent commands). Each test gets its marker from its folder.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("unit", "contract", "integration", "ui", "faults")


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path_factory, monkeypatch):
    """Every test writes config/state/data under its own temp dir, never in ~."""
    base = tmp_path_factory.mktemp("xdg")
    for var, sub in (
        ("LLMOPS_CONFIG_DIR", "config"),
        ("LLMOPS_STATE_DIR", "state"),
        ("LLMOPS_DATA_DIR", "data"),
        ("LLMOPS_CACHE_DIR", "cache"),
    ):
        monkeypatch.setenv(var, str(base / sub))
    monkeypatch.setenv("LLMOPS_PROFILES", str(ROOT / "profiles"))
    # Managed engine envs follow LLMOPS_DATA_DIR (<data>/envs) unless a test points them
    # elsewhere (the integration tier's `ci_envs` fixture: the CI engine env).
    monkeypatch.delenv("LLMOPS_ENVS_DIR", raising=False)
    return base


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
