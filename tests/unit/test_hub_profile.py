"""New launch profiles from a model, and cache-free hub helpers."""

from __future__ import annotations

import json
import struct

from llmops_tui.hub.details import safetensors_param_counts
from llmops_tui.hub.downloader import select_files
from llmops_tui.hub.new_profile import profile_for_model, save_new_profile
from llmops_tui.hub.settings import HubSettings
from llmops_tui.profiles.store import load_profile


def test_profiles_for_each_engine_load_back(tmp_path):
    for engine in ("vllm", "sglang", "tgi"):
        p = profile_for_model(
            engine,
            "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4",
            tensor_parallel=2,
            quantization="awq int4 g128",
            gated="manual",
        )
        path = save_new_profile(p, tmp_path)
        loaded = load_profile(path)
        assert loaded.engine == engine and loaded.tensor_parallel == 2
        assert loaded.env == {"HF_TOKEN": "$HF_TOKEN"}
        # only TGI needs --quantize; vLLM/SGLang read it from config.json
        assert loaded.quantization == ("awq" if engine == "tgi" else None)
    assert (tmp_path / "vllm-meta-llama-3.1-8b-instruct-awq-int4-tp2.toml").exists()


def test_save_never_overwrites(tmp_path):
    p = profile_for_model("vllm", "Qwen/Qwen2.5-7B")
    first = save_new_profile(p, tmp_path)
    second = save_new_profile(p, tmp_path)
    assert first != second and second.name == "vllm-qwen2.5-7b-2.toml"
    assert "HF_TOKEN" not in first.read_text()


def test_settings_from_env(tmp_path):
    home = tmp_path / "hf"
    home.mkdir()
    (home / "token").write_text("hf_from_file\n")
    s = HubSettings.from_env({"HF_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    assert s.cache_dir == home / "hub" and s.offline
    assert s.token == "hf_from_file" and s.token_source.startswith("token file")
    s = HubSettings.from_env(
        {
            "HF_HOME": str(home),
            "HF_TOKEN": "hf_env",
            "HF_HUB_CACHE": "/x",
            "HF_ENDPOINT": "http://m/",
        }
    )
    assert (s.token, s.token_source, str(s.cache_dir), s.endpoint) == (
        "hf_env",
        "HF_TOKEN",
        "/x",
        "http://m",
    )


def test_select_files():
    names = ["config.json", "model.safetensors", "pytorch_model.bin", "sub/x.safetensors"]
    assert select_files(names, ["*.safetensors"]) == ["model.safetensors", "sub/x.safetensors"]
    assert select_files(names, None) == names


def test_safetensors_header_counts(tmp_path):
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "BF16", "shape": [4, 8], "data_offsets": [0, 64]},
        "b": {"dtype": "F8_E4M3", "shape": [10], "data_offsets": [64, 74]},
    }
    raw = json.dumps(header).encode()
    f = tmp_path / "m.safetensors"
    f.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * 74)
    assert safetensors_param_counts(f) == {"BF16": 32, "F8_E4M3": 10}
