"""`llmops models …` end to end against the fake Hub (env: HF_ENDPOINT, HF_HUB_CACHE)."""

from __future__ import annotations

import json
from pathlib import Path

from llmops_tui.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "fixtures" / "configs"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_empty_then_download_then_list(settings, capsys):
    rc, out, _ = run(capsys, "models", "list")
    assert rc == 0 and "no models in" in out

    rc, out, err = run(capsys, "models", "download", "acme/tiny", "--include", "*.json", "--json")
    assert rc == 0, err
    res = json.loads(out)
    assert [f["path"] for f in res["files"]] == ["config.json"]
    assert "100.0%" in err  # progress lines on stderr

    rc, out, _ = run(capsys, "models", "list", "--json")
    data = json.loads(out)
    assert data["models"][0]["repo_id"] == "acme/tiny"
    assert data["models"][0]["revisions"][0]["refs"] == ["main"]
    rc, out, _ = run(capsys, "models", "list")
    assert "acme/tiny" in out and "11111111 (main)" in out


def test_search_json_and_table(settings, capsys):
    rc, out, _ = run(capsys, "models", "search", "acme", "--json")
    assert rc == 0 and [r["repo_id"] for r in json.loads(out)] == ["acme/tiny", "acme/other"]
    rc, out, _ = run(capsys, "models", "search", "--sort", "likes", "--limit", "1")
    assert "meta-llama/Gated-8B" in out and "yes" in out


def test_info_with_fit(settings, capsys):
    rc, out, err = run(
        capsys, "models", "info", "acme/tiny", "--gpus", "1", "--gpu-memory", "4", "--json"
    )
    assert rc == 0, err
    d = json.loads(out)
    assert d["params"] == 1_234_567 and d["license"] == "apache-2.0"
    # tiny config: KV = 2 × 2 layers × 2 KV heads × 16 head_dim × 2 B = 256 B/token
    assert d["fit"]["kv_bytes_per_token"] == 256 and d["fit"]["fits"] is True


def test_gated_download_message(settings, capsys):
    rc, out, err = run(capsys, "models", "download", "meta-llama/Gated-8B", "--json")
    assert rc == 1
    assert json.loads(out)["kind"] == "gated"
    assert "export HF_TOKEN" in err and "Traceback" not in err


def test_rm_needs_confirmation(settings, capsys):
    run(capsys, "models", "download", "acme/tiny")
    rc, _, err = run(capsys, "models", "rm", "acme/tiny")
    assert rc == 1 and "frees 5.0 MiB" in err and "--yes" in err
    rc, out, _ = run(capsys, "models", "rm", "acme/tiny", "--yes", "--json")
    assert rc == 0 and json.loads(out)["deleted"] is True
    rc, out, _ = run(capsys, "models", "list", "--json")
    assert json.loads(out)["models"] == []


def test_fit_from_config_file(capsys):
    rc, out, _ = run(
        capsys,
        "models",
        "fit",
        str(CONFIGS / "llama-3.1-70b-fp8.json"),
        "--gpus",
        "2",
        "--gpu-memory",
        "80",
    )
    assert rc == 0
    assert "fits on 2× GPU 80.0 GiB with TP=2" in out
    assert "2 × 80 layers × 8 KV heads × 128 (8192/64) × 2 B = 327,680 B" in out


def test_fit_bad_inputs(tmp_path, capsys):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    rc, _, err = run(capsys, "models", "fit", str(bad), "--gpus", "1", "--gpu-memory", "80")
    assert rc == 1 and "not valid JSON" in err and str(bad) in err
    rc, _, err = run(capsys, "models", "fit", str(CONFIGS / "qwen2.5-7b.json"), "--gpus", "2")
    assert rc == 1 and "--gpu-memory" in err
