"""Fixtures of the Hub integration tests: a running FakeHub (tests/fixtures/fake_hub.py) and
HubSettings pointing HF_ENDPOINT / HF_HUB_CACHE at it."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fixtures"))

from fake_hub import CONFIG, FakeFile, FakeHub, FakeRepo

from llmops_tui.hub.settings import HubSettings


def _blob(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def fake_hub():
    fh = FakeHub()
    fh.add(
        FakeRepo(
            "acme/tiny",
            {
                "config.json": FakeFile(CONFIG, lfs=False),
                "model-00001-of-00002.safetensors": FakeFile(_blob(3 * 1024 * 1024, 1), lfs=True),
                "model-00002-of-00002.safetensors": FakeFile(
                    _blob(2 * 1024 * 1024 + 17, 2), lfs=True
                ),
                "README.md": FakeFile(b"# tiny\n", lfs=False),
            },
            commit="1" * 40,
            downloads=500,
            likes=3,
            params={"BF16": 1_234_567},
        )
    )
    fh.add(
        FakeRepo(
            "meta-llama/Gated-8B",
            {"config.json": FakeFile(CONFIG, lfs=False)},
            commit="2" * 40,
            gated="manual",
            downloads=900,
            likes=50,
            license="llama3.1",
        )
    )
    fh.add(FakeRepo("acme/other", {"a.bin": FakeFile(b"x" * 10, lfs=False)}, library_name="gguf"))
    fh.start()
    yield fh
    fh.stop()


@pytest.fixture
def settings(fake_hub, tmp_path, monkeypatch) -> HubSettings:
    monkeypatch.setenv("HF_ENDPOINT", fake_hub.endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    s = HubSettings.from_env()
    assert s.endpoint == fake_hub.endpoint and s.cache_dir == tmp_path / "hub-cache"
    assert s.token is None
    return s
