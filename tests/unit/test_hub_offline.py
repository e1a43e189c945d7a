"""Offline, `models search` / `info` answer at once, say offline and what works offline
(no huggingface_hub retry noise, no "a download resumes" outside downloads); `models info`
and `fit` read a local model folder."""

from __future__ import annotations

import json
import socket
import time

import pytest

from llmops_tui.cli import main


@pytest.fixture
def closed_endpoint(monkeypatch, tmp_path):
    with socket.socket() as s:  # a port with nothing listening: refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.mark.parametrize("argv", [["search", "llama"], ["info", "org/model"]])
def test_offline_answers_at_once_and_says_what_works(closed_endpoint, capsys, argv):
    t0 = time.monotonic()
    rc = main(["models", *argv])
    took = time.monotonic() - t0
    err = capsys.readouterr().err
    assert rc != 0 and took < 3.0, took
    assert "offline:" in err and "fit" in err and "local model folder" in err
    assert "Retry" not in err and "resumes" not in err


def test_info_and_fit_read_a_local_folder(tmp_path, capsys):
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 128,
        "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 2,
        "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1024,
        "max_position_embeddings": 2048, "torch_dtype": "bfloat16",
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert main(["models", "info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "a local folder" in out and "config.json" in out
    assert main(["models", "info", str(tmp_path / "missing" / "x")]) != 0
    assert "not a model folder" in capsys.readouterr().err


def test_network_errors_outside_downloads_do_not_mention_resuming():
    import httpx2

    from llmops_tui.hub.errors import explain_error
    from llmops_tui.hub.settings import HubSettings

    s = HubSettings.from_env()
    exc = httpx2.ConnectError("refused")
    assert "resumes" not in explain_error(exc, "q", s, "search").message
    assert "resumes" in explain_error(exc, "org/m", s, "model.safetensors").message


def test_format_age_uses_the_largest_whole_unit():
    from llmops_tui.hub.errors import format_age

    now = 1_000_000.0
    assert format_age(now, now) == "just now"
    assert format_age(now - 59, now) == "just now"
    assert format_age(now - 60, now) == "1m ago"
    assert format_age(now - 2 * 3600 - 5, now) == "2h ago"
    assert format_age(now - 3 * 86400, now) == "3d ago"
    assert format_age(now + 100, now) == "just now"  # a clock ahead of the file is not negative
