"""Valid vs launchable here: a profile file can be fine while this box cannot run it
(no GPU, no model at its path, no Docker, no interpreter or engine env); the reason is
said in `profiles list`, `profiles check` and the Engines tab."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmops_tui.cli import main
from llmops_tui.launchable import launchability
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import list_profiles
from llmops_tui.telemetry.gpu import GpuIds

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(
        "llmops_tui.telemetry.gpu.gpu_ids", lambda nvml=None: GpuIds(error="no NVIDIA GPU found")
    )
    monkeypatch.setattr("shutil.which", lambda name, *a, **k: None)
    monkeypatch.setattr("llmops_tui.launchable.which", lambda name, *a, **k: None)


def test_shipped_profiles_valid_but_none_launchable_without_gpu(no_gpu):
    profiles = [e.profile for e in list_profiles([ROOT / "profiles"]) if e.profile]
    assert len(profiles) >= 5
    for p in profiles:
        h = launchability(p)
        assert not h.ok and h.reasons, p.name
    by = {p.name: launchability(p) for p in profiles}
    assert by["vllm-llama70b-fp8-tp2"].short == "no GPU"
    assert any("no interpreter" in r for r in by["vllm-llama70b-fp8-tp2"].reasons)
    assert any("docker" in r for r in by["tgi-llama8b-awq-docker"].reasons)


def test_each_reason(tmp_path, monkeypatch):
    monkeypatch.setattr("llmops_tui.envs.launch.check_launch_env", lambda p, **k: None)
    ok = Profile(name="a", engine="vllm", model="org/m")
    assert launchability(ok).ok and launchability(ok).label == "✓ launchable"
    local = Profile(name="b", engine="vllm", model=str(tmp_path / "nope"))
    h = launchability(local)
    assert not h.ok and h.short == "no model" and str(tmp_path / "nope") in h.reasons[0]
    (tmp_path / "nope").mkdir()
    assert launchability(local).ok


def test_missing_engine_env_is_named(monkeypatch):
    monkeypatch.setattr(
        "llmops_tui.telemetry.gpu.gpu_ids", lambda nvml=None: GpuIds(error="no NVIDIA GPU found")
    )
    p = Profile(name="c", engine="vllm", model="org/m", engine_env="nowhere")
    h = launchability(p)
    assert not h.ok and h.short == "no env nowhere"
    assert "llmops envs create nowhere --engine vllm" in h.reasons[0]


def test_profiles_list_and_check_say_launchable_here(no_gpu, capsys):
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[-2:] == ["STATUS", "HERE"]
    row = next(line for line in out.splitlines() if line.startswith("vllm-llama70b-fp8-tp2"))
    assert " ok " in row and "✗ no GPU" in row
    assert "llmops demo" in out
    assert main(["profiles", "check"]) == 0  # the files are valid: exit 0
    out = capsys.readouterr().out
    assert "vllm-llama70b-fp8-tp2.toml: not launchable here: gpus = '0,1'" in out
    assert "tgi-llama8b-awq-docker.toml: not launchable here: runtime = docker" in out
