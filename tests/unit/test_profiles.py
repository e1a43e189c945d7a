"""Profile validation: every broken profile yields its own specific message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmops_tui.profiles.profile import Profile, ProfileError
from llmops_tui.profiles.store import (
    ProfileNotFound,
    find_profile,
    list_profiles,
    load_profile,
    save_profile,
    to_toml,
)
from llmops_tui.profiles.validation import check_profile_text, parse_profile

ROOT = Path(__file__).resolve().parents[2]

BASE = 'engine = "vllm"\nmodel = "org/model"\n'

# (id, profile text, field named in the error, line of the error or None, message fragment)
BROKEN = [
    ("toml-syntax", BASE + "port = 80 00\n", None, 3, "invalid TOML"),
    ("missing-engine", 'model = "org/m"\n', "engine", None, "missing; expected one of vllm"),
    ("missing-model", 'engine = "vllm"\n', "model", None, "missing; expected Hugging Face repo id"),
    ("unknown-engine", 'engine = "vlm"\nmodel = "org/m"\n', "engine", 1, "did you mean 'vllm'"),
    (
        "unknown-key",
        BASE + "tensor_paralel = 2\n",
        "tensor_paralel",
        3,
        "unknown field (did you mean 'tensor_parallel'?)",
    ),
    ("port-type", BASE + 'port = "8000"\n', "port", 3, "expected an integer"),
    ("port-range", BASE + "port = 70000\n", "port", 3, "70000 is out of range; expected 1-65535"),
    ("port-bool", BASE + "port = true\n", "port", 3, "got a boolean"),
    ("tp-zero", BASE + "tensor_parallel = 0\n", "tensor_parallel", 3, "0 is out of range"),
    (
        "mem-fraction",
        BASE + "gpu_memory_fraction = 1.5\n",
        "gpu_memory_fraction",
        3,
        "expected 0 < fraction <= 1",
    ),
    (
        "mem-fraction-type",
        BASE + 'gpu_memory_fraction = "90%"\n',
        "gpu_memory_fraction",
        3,
        "expected a number",
    ),
    (
        "vllm-quant",
        BASE + 'quantization = "exl2"\n',
        "quantization",
        3,
        "vLLM does not accept quantization 'exl2'",
    ),
    (
        "sglang-quant-typo",
        'engine = "sglang"\nmodel = "org/m"\nquantization = "fp9"\n',
        "quantization",
        3,
        "SGLang does not accept quantization 'fp9' (did you mean 'fp8'?)",
    ),
    (
        "tgi-pp",
        'engine = "tgi"\nmodel = "org/m"\npipeline_parallel = 2\n',
        "pipeline_parallel",
        3,
        "TGI has no pipeline parallelism",
    ),
    (
        "tgi-dp",
        'engine = "tgi"\nmodel = "org/m"\ndata_parallel = 2\n',
        "data_parallel",
        3,
        "TGI has no data parallelism",
    ),
    (
        "tgi-dtype-quant",
        'engine = "tgi"\nmodel = "org/m"\nquantization = "awq"\ndtype = "float16"\n',
        "dtype",
        4,
        "TGI refuses --dtype together with --quantize",
    ),
    (
        "tgi-exl2-tp",
        'engine = "tgi"\nmodel = "org/m"\nquantization = "exl2"\ntensor_parallel = 2\n',
        "quantization",
        3,
        "exl2 does not support tensor parallelism",
    ),
    (
        "tgi-kv-dtype",
        'engine = "tgi"\nmodel = "org/m"\nkv_cache_dtype = "fp8"\n',
        "kv_cache_dtype",
        3,
        "TGI does not accept kv_cache_dtype 'fp8'",
    ),
    ("vllm-dtype", BASE + 'dtype = "bf16"\n', "dtype", 3, "vLLM does not accept dtype 'bf16'"),
    (
        "gpus-too-few",
        BASE + 'tensor_parallel = 4\ngpus = "0,1"\n',
        "gpus",
        4,
        "2 GPU(s) listed but the parallel layout needs 4",
    ),
    ("gpus-bad-id", BASE + 'gpus = "0,x"\n', "gpus", 3, "'x' is not a GPU index"),
    ("gpus-dupe", BASE + "gpus = [0, 0]\n", "gpus", 3, "GPU 0 listed more than once"),
    (
        "extra-args-type",
        BASE + 'extra_args = ["--max-num-batched-tokens", 8192]\n',
        "extra_args",
        3,
        "item 1 is an integer (8192)",
    ),
    (
        "extra-args-dup-field",
        BASE + 'extra_args = ["--tensor-parallel-size", "2"]\n',
        "extra_args",
        3,
        "duplicates the profile field 'tensor_parallel'",
    ),
    (
        "extra-args-api-key",
        BASE + 'extra_args = ["--api-key", "sk-123"]\n',
        "extra_args",
        3,
        "would put the API key on the command line",
    ),
    (
        "secret-in-env",
        BASE + '[env]\nHF_TOKEN = "hf_abcdef"\n',
        "env.HF_TOKEN",
        4,
        "looks like a secret written into the profile",
    ),
    (
        "env-bad-name",
        BASE + '[env]\n"1BAD" = "x"\n',
        "env.1BAD",
        4,
        "not a valid environment variable name",
    ),
    ("env-type", BASE + "env = 3\n", "env", 3, "expected a table"),
    ("runtime", BASE + 'runtime = "podman"\n', "runtime", 3, "expected native or docker"),
    (
        "docker-with-python",
        BASE + 'runtime = "docker"\npython = "/usr/bin/python3"\n',
        "python",
        4,
        'not used with runtime = "docker"',
    ),
    (
        "image-native",
        BASE + 'image = "vllm/vllm-openai:v0.33.0"\n',
        "image",
        3,
        'only used with runtime = "docker"',
    ),
    (
        "python-and-exe",
        BASE + 'python = "/p"\nexecutable = "vllm"\n',
        "executable",
        4,
        "set either python",
    ),
    (
        "model-bad",
        'engine = "vllm"\nmodel = "not a model!"\n',
        "model",
        2,
        "neither a Hugging Face repo id",
    ),
    ("name-bad", BASE + 'name = "my profile"\n', "name", 3, "expected 1-64 letters"),
    (
        "tgi-served-name",
        'engine = "tgi"\nmodel = "org/m"\nserved_model_name = "x"\n',
        "served_model_name",
        3,
        "no --served-model-name",
    ),
    (
        "tgi-max-num-seqs",
        'engine = "tgi"\nmodel = "org/m"\nmax_num_seqs = 8\n',
        "max_num_seqs",
        3,
        "has no per-sequence limit",
    ),
    (
        "api-key-env-value",
        BASE + 'api_key_env = "sk-live-123"\n',
        "api_key_env",
        3,
        "is not an environment variable name",
    ),
    (
        "engine-table",
        BASE + "[vllm]\nenable_prefix_caching = true\n",
        "vllm",
        3,
        "engine-specific flags go in extra_args",
    ),
    ("max-model-len", BASE + "max_model_len = 0\n", "max_model_len", 3, "expected an integer >= 1"),
    (
        "trust-type",
        BASE + 'trust_remote_code = "yes"\n',
        "trust_remote_code",
        3,
        "expected true or false",
    ),
]


@pytest.mark.parametrize(
    ("text", "field", "line", "fragment"),
    [b[1:] for b in BROKEN],
    ids=[b[0] for b in BROKEN],
)
def test_broken_profile_reports_specific_error(text, field, line, fragment):
    profile, issues = check_profile_text(text, "profiles/broken.toml")
    errors = [i for i in issues if i.severity == "error"]
    assert profile is None
    matching = [e for e in errors if fragment in e.message]
    assert matching, f"no error containing {fragment!r}; got: {[str(e) for e in errors]}"
    err = matching[0]
    assert err.field == field
    assert err.line == line
    assert err.file == "profiles/broken.toml"
    rendered = str(err)
    assert rendered.startswith("profiles/broken.toml" + (f":{line}" if line else "") + ": ")


def test_at_least_fifteen_broken_profiles_each_distinct():
    assert len(BROKEN) >= 15
    assert len({b[4] for b in BROKEN}) == len(BROKEN)


def test_every_error_is_reported_not_just_the_first():
    text = 'engine = "vllm"\nmodel = "org/m"\nport = 0\ntensor_parallel = -1\nfoo = 1\n'
    with pytest.raises(ProfileError) as exc:
        parse_profile(text, "p.toml")
    fields = sorted(i.field for i in exc.value.issues)
    assert fields == ["foo", "port", "tensor_parallel"]
    assert "p.toml:3: port:" in str(exc.value)


def test_defaults_are_safe_and_engine_specific():
    p = parse_profile('engine = "sglang"\nmodel = "org/m"\n', "x/my-sglang.toml")
    assert p.host == "127.0.0.1"
    assert p.port == 30000
    assert p.name == "my-sglang"
    assert p.runtime == "native"
    t = parse_profile('engine = "tgi"\nmodel = "org/m"\nruntime = "docker"\n', "tgi.toml")
    assert t.port == 3000
    assert t.image and t.image.startswith("ghcr.io/huggingface/text-generation-inference:")


def test_wildcard_host_is_a_warning_not_an_error():
    profile, issues = check_profile_text(BASE + 'host = "0.0.0.0"\n', "p.toml")
    assert profile is not None and profile.host == "0.0.0.0"
    (warning,) = issues
    assert warning.severity == "warning" and warning.field == "host"
    assert "every network interface" in warning.message


def test_env_references_resolve_from_environment_and_unset_ones_drop():
    p = parse_profile(BASE + '[env]\nHF_TOKEN = "$HF_TOKEN"\nOTHER = "${NOPE}"\nPLAIN = "1"\n')
    assert p.resolved_env({"HF_TOKEN": "hf_secret"}) == {"HF_TOKEN": "hf_secret", "PLAIN": "1"}


def test_env_string_names_an_engine_environment():
    p = parse_profile(BASE + 'env = "ci-vllm"\n')
    assert p.engine_env == "ci-vllm"
    assert dict(p.env) == {}


def test_sglang_dp_attention_needs_only_tp_gpus():
    text = (
        'engine = "sglang"\nmodel = "org/m"\ntensor_parallel = 2\ndata_parallel = 2\n'
        'gpus = "0,1"\nextra_args = ["--enable-dp-attention"]\n'
    )
    assert parse_profile(text).world_size == 4
    _, issues = check_profile_text(
        text.replace(', "--enable-dp-attention"', "").replace('["--enable-dp-attention"]', "[]")
    )
    assert any(i.field == "gpus" for i in issues)


def test_shipped_example_profiles_are_valid():
    paths = sorted((ROOT / "profiles").glob("*.toml"))
    names = {p.stem for p in paths}
    assert {"tiny-vllm-cpu", "vllm-llama70b-fp8-tp2", "sglang-llama70b-fp8-tp2"} <= names
    engines = set()
    for path in paths:
        profile = load_profile(path)
        engines.add((profile.engine, profile.runtime))
        assert profile.name == path.stem
    assert {
        ("vllm", "native"),
        ("sglang", "native"),
        ("tgi", "native"),
        ("tgi", "docker"),
    } <= engines


def test_round_trip_through_toml(tmp_path):
    original = load_profile(ROOT / "profiles/vllm-llama70b-fp8-tp2.toml")
    out = save_profile(original, tmp_path / "copy.toml")
    again = load_profile(out)
    for field in (
        "engine",
        "model",
        "quantization",
        "tensor_parallel",
        "gpus",
        "extra_args",
        "gpu_memory_fraction",
        "served_model_name",
        "python",
        "port",
    ):
        assert getattr(again, field) == getattr(original, field), field
    assert dict(again.env) == dict(original.env)


def test_save_refuses_an_invalid_profile(tmp_path):
    bad = Profile(name="x", engine="tgi", model="org/m", pipeline_parallel=2)
    with pytest.raises(ProfileError, match="pipeline parallelism"):
        save_profile(bad, tmp_path / "x.toml")
    assert not (tmp_path / "x.toml").exists()
    assert "pipeline_parallel = 2" in to_toml(bad)


def test_find_profile_by_name_and_suggests_close_names(tmp_path):
    (tmp_path / "alpha.toml").write_text(BASE)
    (tmp_path / "broken.toml").write_text("engine = 1\n")
    assert find_profile("alpha", [tmp_path]).name == "alpha"
    with pytest.raises(ProfileNotFound, match="did you mean alpha"):
        find_profile("alpah", [tmp_path])
    with pytest.raises(ProfileError, match="engine"):
        find_profile("broken", [tmp_path])
    entries = list_profiles([tmp_path])
    assert [(e.name, e.ok) for e in entries] == [("alpha", True), ("broken", False)]


def test_user_profile_shadows_repo_profile(tmp_path):
    user, repo = tmp_path / "user", tmp_path / "repo"
    user.mkdir()
    repo.mkdir()
    (user / "same.toml").write_text(BASE + "port = 9001\n")
    (repo / "same.toml").write_text(BASE + "port = 9002\n")
    assert find_profile("same", [user, repo]).port == 9001


def test_line_numbers_follow_tables():
    text = textwrap.dedent(
        """\
        engine = "vllm"
        model = "org/m"

        [env]
        PORT = "1"
        API_KEY = "abc"
        """
    )
    _, issues = check_profile_text(text, "t.toml")
    (err,) = [i for i in issues if i.severity == "error"]
    assert (err.field, err.line) == ("env.API_KEY", 6)
