"""Profile → argv for vLLM, SGLang and TGI (native and docker), checked against the flag
lists of shared/reference/engines.md (copied here, since tests must not read outside the
repo) and against the engines' sources cited in each adapter module."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llmops_tui.engines import adapter, sglang, tgi, vllm
from llmops_tui.engines.base import LaunchRefused
from llmops_tui.profiles.store import load_profile
from llmops_tui.profiles.validation import parse_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILES = ROOT / "profiles"

# shared/reference/engines.md, "Flags" of each engine.
VLLM_FLAGS = {
    "--model", "--host", "--port", "--api-key", "--served-model-name", "--dtype",
    "--quantization", "-q", "--kv-cache-dtype", "--tensor-parallel-size", "-tp",
    "--pipeline-parallel-size", "-pp", "--data-parallel-size", "-dp",
    "--enable-expert-parallel", "-ep", "--gpu-memory-utilization", "--max-model-len",
    "--max-num-seqs", "--max-num-batched-tokens", "--enable-prefix-caching",
    "--no-enable-prefix-caching", "--enable-chunked-prefill", "--enforce-eager",
    "--speculative-config", "--revision", "--download-dir", "--load-format",
    "--trust-remote-code",
}  # fmt: skip
SGLANG_FLAGS = {
    "--model-path", "--model", "--host", "--port", "--api-key", "--served-model-name",
    "--tp-size", "--tensor-parallel-size", "--dp-size", "--data-parallel-size", "--pp-size",
    "--pipeline-parallel-size", "--ep-size", "--expert-parallel-size", "--quantization",
    "--dtype", "--kv-cache-dtype", "--mem-fraction-static", "--context-length",
    "--max-running-requests", "--chunked-prefill-size", "--disable-radix-cache",
    "--enable-metrics", "--trust-remote-code", "--revision", "--download-dir",
    "--nnodes", "--node-rank", "--dist-init-addr",
}  # fmt: skip
TGI_FLAGS = {
    "--model-id", "--revision", "--sharded", "--num-shard", "--quantize", "--dtype",
    "--kv-cache-dtype", "--max-input-tokens", "--max-total-tokens",
    "--max-batch-prefill-tokens", "--max-batch-total-tokens", "--max-concurrent-requests",
    "--cuda-memory-fraction", "--hostname", "--port", "--huggingface-hub-cache",
    "--trust-remote-code",
    # launcher/src/main.rs Args: shard_uds_path (per-engine socket, see tgi.py).
    "--shard-uds-path",
}  # fmt: skip
# `docker run` options we use (docs.docker.com/reference/cli/docker/container/run).
DOCKER_RUN_OPTIONS = {"--name", "--init", "--gpus", "--ipc", "--shm-size", "-p", "-v", "-e"}


def flags(argv) -> list[str]:
    """Engine flags, skipping the interpreter's own `-m module`."""
    argv = list(argv)
    if "-m" in argv[:3]:
        argv = argv[argv.index("-m") + 2 :]
    return [a.split("=", 1)[0] for a in argv if a.startswith("-")]


def value(argv, flag: str) -> str:
    argv = list(argv)
    return argv[argv.index(flag) + 1]


def image_split(argv, image: str) -> tuple[list[str], list[str]]:
    argv = list(argv)
    i = argv.index(image)
    return argv[:i], argv[i + 1 :]


def test_vllm_70b_profile_argv_uses_only_reference_flags():
    p = load_profile(PROFILES / "vllm-llama70b-fp8-tp2.toml")
    spec = vllm.build_launch(p, environ={"HF_TOKEN": "hf_secret"})
    argv = spec.argv
    assert argv[:4] == (
        os.path.expanduser("~/venvs/vllm/bin/python"),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
    )
    assert set(flags(argv)) <= VLLM_FLAGS
    assert value(argv, "--tensor-parallel-size") == "2"
    assert value(argv, "--quantization") == "fp8"
    assert value(argv, "--kv-cache-dtype") == "fp8"
    assert value(argv, "--gpu-memory-utilization") == "0.9"
    assert value(argv, "--max-model-len") == "8192"
    assert value(argv, "--max-num-seqs") == "256"
    assert value(argv, "--served-model-name") == "llama70b"
    assert value(argv, "--host") == "127.0.0.1"
    assert argv[-1] == "--enable-prefix-caching"
    assert spec.env["CUDA_VISIBLE_DEVICES"] == "0,1"
    assert spec.env["HF_TOKEN"] == "hf_secret"
    assert "hf_secret" not in " ".join(argv)
    assert spec.engine_module == "vllm"


def test_vllm_parallel_layout_flags():
    p = load_profile(PROFILES / "vllm-llama70b-fp8-tp2.toml").with_overrides(
        pipeline_parallel=2, data_parallel=2, gpus=None
    )
    argv = vllm.build_argv(p)
    assert value(argv, "--pipeline-parallel-size") == "2"
    assert value(argv, "--data-parallel-size") == "2"


def test_vllm_api_key_goes_through_env_only():
    p = load_profile(PROFILES / "tiny-vllm-cpu.toml").with_overrides(api_key_env="MY_KEY")
    spec = vllm.build_launch(p, environ={"MY_KEY": "sk-123"})
    assert spec.env["VLLM_API_KEY"] == "sk-123"
    assert "sk-123" not in spec.argv and "--api-key" not in spec.argv


def test_vllm_docker_form():
    p = load_profile(PROFILES / "vllm-llama70b-fp8-tp2.toml").with_overrides(
        runtime="docker", python=None, image="vllm/vllm-openai:v0.33.0"
    )
    spec = vllm.build_launch(p, environ={"HF_TOKEN": "hf_secret", "HF_HOME": "/srv/hf"})
    before, after = image_split(spec.argv, "vllm/vllm-openai:v0.33.0")
    assert before[:4] == ["docker", "run", "--name", "llmops-vllm-llama70b-fp8-tp2"]
    assert set(flags(before)) <= DOCKER_RUN_OPTIONS
    assert value(before, "--gpus") == '"device=0,1"'
    assert value(before, "-p") == "127.0.0.1:8000:8000"
    assert value(before, "-v") == "/srv/hf:/root/.cache/huggingface"
    assert value(before, "-e") == "HF_TOKEN"
    assert "hf_secret" not in " ".join(spec.argv)
    # The image's entrypoint is `vllm serve`: the model comes first, flags bound inside.
    assert after[0] == "meta-llama/Llama-3.1-70B-Instruct"
    assert set(flags(after)) <= VLLM_FLAGS
    assert value(after, "--host") == "0.0.0.0" and value(after, "--port") == "8000"
    assert spec.container_name == "llmops-vllm-llama70b-fp8-tp2"


def test_sglang_70b_profile_argv_uses_only_reference_flags(tmp_path):
    p = load_profile(PROFILES / "sglang-llama70b-fp8-tp2.toml")
    spec = sglang.build_launch(p, environ={}, state_dir=tmp_path)
    argv = spec.argv
    assert argv[1:3] == ("-m", "sglang.launch_server")
    assert set(flags(argv)) <= SGLANG_FLAGS
    assert value(argv, "--model-path") == "meta-llama/Llama-3.1-70B-Instruct"
    assert value(argv, "--tp-size") == "2"
    assert value(argv, "--quantization") == "fp8"
    assert value(argv, "--mem-fraction-static") == "0.85"
    assert value(argv, "--context-length") == "8192"
    assert value(argv, "--served-model-name") == "llama70b"
    assert value(argv, "--port") == "30000"
    assert argv.count("--enable-metrics") == 1
    assert spec.engine_module == "sglang"


def test_sglang_metrics_flag_is_never_doubled(tmp_path):
    p = parse_profile(
        'engine = "sglang"\nname = "s"\nmodel = "org/m"\nextra_args = ["--enable-metrics", '
        '"--disable-radix-cache"]\n'
    )
    argv = sglang.build_argv(p)
    assert argv.count("--enable-metrics") == 1
    assert "--dp-size" not in argv
    assert argv[-1] == "--disable-radix-cache"


def test_sglang_refuses_api_keys_because_it_logs_its_arguments(tmp_path):
    """SGLang 0.5.23 logs every server argument, the key included (engine.py:1185), and
    keeps the --config-merged argv as launch_command: the 0600 --config file did not help
    (tests/contract/test_sglang_contract.py checks it against SGLang itself)."""
    p = load_profile(PROFILES / "sglang-llama70b-fp8-tp2.toml").with_overrides(
        api_key_env="SGL_KEY"
    )
    for runtime in ("native", "docker"):
        q = p.with_overrides(runtime=runtime, python=None) if runtime == "docker" else p
        with pytest.raises(LaunchRefused, match=r"writes all its server arguments.*log"):
            sglang.build_launch(q, environ={"SGL_KEY": "sk-1"}, state_dir=tmp_path)


def test_tgi_refuses_a_host_name_it_would_turn_into_every_interface():
    """TGI's router parses --hostname as an IP; 'localhost' makes it bind 0.0.0.0."""
    p = load_profile(PROFILES / "tgi-llama8b-awq.toml")
    for host in ("localhost", "gpu-box.lan"):
        with pytest.raises(LaunchRefused, match=r"Invalid hostname, defaulting to 0\.0\.0\.0"):
            tgi.build_launch(p.with_overrides(host=host), environ={})
    for host in ("127.0.0.1", "::1", "0.0.0.0"):
        spec = tgi.build_launch(p.with_overrides(host=host), environ={})
        assert value(spec.argv, "--hostname") == host


@pytest.mark.parametrize("engine", ["vllm", "sglang", "tgi"])
def test_docker_publish_takes_an_ip_only(engine):
    """docker run -p localhost:… fails: Docker's ParsePortSpec wants an IP address."""
    text = f'engine = "{engine}"\nmodel = "org/m"\nruntime = "docker"\nhost = "::1"\n'
    profile = parse_profile(text)
    spec = adapter(engine).build_launch(profile, environ={})
    assert any(a.startswith("::1:") for a in spec.argv)
    with pytest.raises(LaunchRefused, match="docker run -p binds an IP address only"):
        adapter(engine).build_launch(profile.with_overrides(host="localhost"), environ={})


def test_sglang_docker_form(tmp_path):
    p = load_profile(PROFILES / "sglang-llama70b-fp8-tp2.toml").with_overrides(
        runtime="docker", python=None, image="lmsysorg/sglang:v0.5.23"
    )
    spec = sglang.build_launch(p, environ={"HF_HOME": "/srv/hf"}, state_dir=tmp_path)
    before, after = image_split(spec.argv, "lmsysorg/sglang:v0.5.23")
    assert set(flags(before)) <= DOCKER_RUN_OPTIONS
    assert value(before, "-p") == "127.0.0.1:30000:30000"
    assert after[:3] == ["python3", "-m", "sglang.launch_server"]
    assert set(flags(after)) <= SGLANG_FLAGS
    assert value(after, "--host") == "0.0.0.0"
    assert "--enable-metrics" in after


def test_tgi_native_argv_uses_only_reference_flags():
    p = load_profile(PROFILES / "tgi-llama8b-awq.toml")
    spec = tgi.build_launch(p, environ={})
    argv = spec.argv
    assert argv[0] == "text-generation-launcher"
    assert set(flags(argv)) <= TGI_FLAGS
    assert value(argv, "--model-id") == "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4"
    assert value(argv, "--quantize") == "awq"
    assert value(argv, "--max-total-tokens") == "8192"
    assert value(argv, "--max-input-tokens") == "7168"
    assert value(argv, "--hostname") == "127.0.0.1"
    assert value(argv, "--port") == "3000"
    assert value(argv, "--shard-uds-path").endswith("llmops-tgi-llama8b-awq")
    assert spec.readiness == "tgi" and spec.info_path == "/info" and spec.models_path is None
    assert spec.env["CUDA_VISIBLE_DEVICES"] == "0"


def test_tgi_num_shard_and_memory_fraction():
    p = load_profile(PROFILES / "tgi-llama8b-awq.toml").with_overrides(
        tensor_parallel=2, gpus="0,1", gpu_memory_fraction=0.8
    )
    argv = tgi.build_argv(p)
    assert value(argv, "--num-shard") == "2"
    assert value(argv, "--cuda-memory-fraction") == "0.8"


def test_tgi_docker_form_matches_the_documented_command():
    p = load_profile(PROFILES / "tgi-llama8b-awq-docker.toml")
    spec = tgi.build_launch(p, environ={"HF_HOME": "/srv/hf", "HF_TOKEN": "hf_x"})
    image = "ghcr.io/huggingface/text-generation-inference:3.3.6"
    before, after = image_split(spec.argv, image)
    assert before == [
        "docker", "run", "--name", "llmops-tgi-llama8b-awq-docker",
        "--gpus", '"device=0"', "--shm-size", "1g",
        "-p", "127.0.0.1:3000:80", "-v", "/srv/hf:/data",
    ]  # fmt: skip
    assert set(flags(after)) <= TGI_FLAGS
    assert after[:2] == ["--model-id", "hugging-quants/Meta-Llama-3.1-8B-Instruct-AWQ-INT4"]
    assert value(after, "--port") == "80"
    assert value(after, "--hostname") == "0.0.0.0"
    assert spec.container_name == "llmops-tgi-llama8b-awq-docker"
    assert "CUDA_VISIBLE_DEVICES" not in spec.env


def test_tgi_docker_passes_secrets_by_name_and_mounts_local_models(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    p = load_profile(PROFILES / "tgi-llama8b-awq-docker.toml").with_overrides(
        model=str(model), env={"HF_TOKEN": "$HF_TOKEN"}
    )
    spec = tgi.build_launch(p, environ={"HF_TOKEN": "hf_x", "HF_HOME": "/srv/hf"})
    argv = list(spec.argv)
    assert "hf_x" not in " ".join(argv)
    assert argv[argv.index("-e") + 1] == "HF_TOKEN"
    assert f"{model}:/models/my-model:ro" in argv
    assert value(argv, "--model-id") == "/models/my-model"
    assert spec.env["HF_TOKEN"] == "hf_x"  # docker reads it from its own environment


def test_tgi_refuses_api_keys_because_the_router_gets_them_in_argv():
    p = load_profile(PROFILES / "tgi-llama8b-awq.toml").with_overrides(api_key_env="TGI_KEY")
    with pytest.raises(LaunchRefused, match=r"text-generation-router.*--api-key"):
        tgi.build_launch(p, environ={"TGI_KEY": "k"})


def test_every_adapter_has_log_rules_and_build_launch():
    for engine in ("vllm", "sglang", "tgi"):
        mod = adapter(engine)
        assert callable(mod.build_launch) and mod.LOG_RULES.progress
    with pytest.raises(ValueError, match="unknown engine"):
        adapter("ollama")


@pytest.mark.parametrize("engine", ["vllm", "sglang", "tgi"])
@pytest.mark.parametrize("fraction", [0.123456789, 0.9, 1e-05, 0.3333333333333333])
def test_fractions_reach_the_engine_as_written(engine, fraction):
    """Issue 15: `{:g}` cut 0.123456789 to 0.123457; the engine must get the user's number."""
    text = f'engine = "{engine}"\nmodel = "org/m"\ngpu_memory_fraction = {fraction!r}\n'
    argv = adapter(engine).build_launch(parse_profile(text), environ={}).argv
    flag = {"vllm": "--gpu-memory-utilization", "sglang": "--mem-fraction-static",
            "tgi": "--cuda-memory-fraction"}[engine]  # fmt: skip
    assert float(value(argv, flag)) == fraction


def test_vllm_uses_the_current_server_module_where_the_env_has_it(tmp_path):
    """vllm-cpu 0.32.0 deprecates -m vllm.entrypoints.openai.api_server (it warns at start);
    an env whose site-packages has vllm/entrypoints/launchers/api_server/entry.py gets that."""
    env = tmp_path / "env"
    (env / "bin").mkdir(parents=True)
    site = env / "lib" / "python3.11" / "site-packages"
    text = f'engine = "vllm"\nmodel = "org/m"\npython = "{env}/bin/python"\n'
    old = vllm.build_argv(parse_profile(text))
    assert old[1:4] == ["-m", "vllm.entrypoints.openai.api_server", "--model"]
    entry = site / "vllm" / "entrypoints" / "launchers" / "api_server" / "entry.py"
    entry.parent.mkdir(parents=True)
    entry.write_text("")
    new = vllm.build_argv(parse_profile(text))
    assert new[1:5] == ["-m", "vllm.entrypoints.launchers.api_server.entry", "--model", "org/m"]
    assert new[4:] == old[4:]


def test_tgi_refuses_an_inherited_api_key_variable():
    """clap's `env`: the launcher reads API_KEY as --api-key and puts it on the router's argv."""
    p = load_profile(PROFILES / "tgi-llama8b-awq.toml")
    with pytest.raises(LaunchRefused, match="API_KEY is set in the environment TGI"):
        tgi.build_launch(p, environ={"API_KEY": "sk-1"})
    docker = p.with_overrides(runtime="docker", executable=None)
    tgi.build_launch(docker, environ={"API_KEY": "sk-1"})  # a container gets -e names only
    with pytest.raises(LaunchRefused, match="API_KEY is set"):
        tgi.build_launch(docker.with_overrides(env={"API_KEY": "$API_KEY"}), environ={"API_KEY": "k"})
    tgi.build_launch(p, environ={"HF_TOKEN": "hf_1"})
