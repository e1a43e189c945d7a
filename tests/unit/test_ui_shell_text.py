"""Text of the app header and the profile form's TOML (plain functions, no terminal)."""

from __future__ import annotations

from types import SimpleNamespace

from llmops_tui.profiles.validation import check_profile_text
from llmops_tui.telemetry.gpu import GpuInfo, GpuSnapshot
from llmops_tui.ui.shell import engines_summary, gpu_summary
from llmops_tui.ui.tabs.profile_form import choices_for, form_to_toml

GIB = 1024**3


def test_gpu_summary():
    snap = GpuSnapshot(
        available=True,
        gpus=[
            GpuInfo(0, "H100", memory_used=10 * GIB, memory_total=80 * GIB),
            GpuInfo(1, "H100", memory_used=int(2.5 * GIB), memory_total=80 * GIB),
        ],
    )
    assert gpu_summary(snap) == "2 GPUs · 12.5/160.0 GiB"
    assert gpu_summary(GpuSnapshot(available=False, reason="NVML Shared Library Not Found: x")) == (
        "no GPU (NVML Shared Library Not Found)"
    )
    assert gpu_summary(None) == "GPUs: …"


def test_engines_summary():
    def rec(phase):
        return SimpleNamespace(phase=phase, alive_phase=phase not in ("stopped", "failed"))

    assert engines_summary([]) == "no engine running"
    assert engines_summary([rec("ready"), rec("failed")]) == "1 engine running"
    assert engines_summary([rec("ready"), rec("loading")]) == "2 engines running (1 starting)"


def test_form_to_toml_round_trips_and_keeps_other_keys():
    raw = {
        "name": "my-qwen",
        "engine": "vllm",
        "model": "Qwen/Qwen3-8B",
        "tensor_parallel": "2",
        "gpu_memory_fraction": "0.85",
        "extra_args": "--enable-prefix-caching --max-num-batched-tokens 8192",
        "env": "ci-vllm",
    }
    base = {"description": "kept", "env": {"HF_HOME": "/data/hf"}, "port": 1}
    text = form_to_toml(raw, base)
    profile, issues = check_profile_text(text, "my-qwen.toml")
    assert [i for i in issues if i.severity == "error"] == [], issues
    assert profile.tensor_parallel == 2 and profile.gpu_memory_fraction == 0.85
    assert profile.extra_args == ("--enable-prefix-caching", "--max-num-batched-tokens", "8192")
    assert profile.description == "kept"
    assert dict(profile.env) == {"HF_HOME": "/data/hf"} and profile.engine_env == "ci-vllm"
    assert profile.port == 8000  # the form's (empty) port wins over the file's: engine default


def test_form_to_toml_writes_bad_numbers_as_text_for_validation():
    text = form_to_toml({"name": "x", "engine": "vllm", "model": "a/b", "port": "eighty"})
    _, issues = check_profile_text(text, "x.toml")
    port = [i for i in issues if i.field == "port"]
    assert port and "integer" in port[0].message


def test_choices_come_from_engine_facts():
    assert "fp8" in choices_for("vllm", "quantization")
    assert "bfloat16" in choices_for("sglang", "dtype")
    assert choices_for("nope", "dtype") == []


def test_form_env_name_replaces_the_files_env_name():
    text = form_to_toml(
        {"name": "x", "engine": "vllm", "model": "a/b", "env": "new-env"}, {"env": "old-env"}
    )
    profile, issues = check_profile_text(text, "x.toml")
    assert profile is not None, issues
    assert profile.engine_env == "new-env" and "old-env" not in text
