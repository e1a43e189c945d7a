"""Profiles validated as data: a Profile (the launch preflight) and the profile form's values
are checked as dicts, without TOML between; files still get their line numbers; one TOML
writer, whose text reads back as what it was given."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

from llmops_tui.engines.base import LaunchRefused
from llmops_tui.profiles import toml_text
from llmops_tui.profiles.form import check_form, form_data, read_base
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.store import load_profile, profile_data, save_profile, to_toml
from llmops_tui.profiles.toml_text import LineIndex, dumps, tomllib
from llmops_tui.profiles.validation import check_profile_data, check_profile_text
from llmops_tui.supervisor.core import Supervisor

ROOT = Path(__file__).resolve().parents[2]
ODD = 'tab\there, quote " back\\slash\nnewline \x01\x1f\x7f é ✓'


@pytest.mark.parametrize(
    "data",
    [
        {"name": "a", "port": 1, "f": 0.123456789, "b": False, "l": ["--x", "y z"]},
        {"description": ODD, "extra_args": [ODD, ""]},
        {"weird key": 1, "k.dot": "v", "env": {"HF_TOKEN": "$HF_TOKEN", "A B": ODD}},
        {"tiny": 1e-05, "big": 1e300, "neg": -3},
    ],
)
def test_the_writer_reads_back_as_written(data):
    assert tomllib.loads(dumps(data)) == data


def test_a_profile_with_a_control_character_round_trips(tmp_path):
    """The old writer put \\x01 raw into a basic string: invalid TOML, save refused."""
    p = load_profile(ROOT / "profiles/tiny-vllm-cpu.toml")
    p = replace(p, description=ODD, extra_args=(*p.extra_args, ODD))
    again = load_profile(save_profile(p, tmp_path / "odd.toml"))
    assert again.description == ODD and again.extra_args == p.extra_args


def _issues(found):
    return [(i.field, i.message, i.severity) for i in found[1]]


PROFILES = [
    Profile(name="t", engine="tgi", model="org/m", pipeline_parallel=2, max_num_seqs=4),
    Profile(name="g", engine="vllm", model="org/m", gpu_memory_fraction=1.5, gpus="0"),
    Profile(name="k", engine="sglang", model="org/m", api_key_env="KEY", host="0.0.0.0"),
    Profile(name="d", engine="vllm", model="org/m", runtime="docker", python="/p", env={"A": "1"}),
    Profile(name="s", engine="tgi", model="~/m", sleep_mode=True, extra_args=("--num-shard",)),
    Profile(name="x", engine="vllm", model="org/m", description=ODD, tensor_parallel=2, gpus="0"),
]


@pytest.mark.parametrize("profile", [*PROFILES, None], ids=lambda p: p.name if p else "shipped")
def test_a_profile_checked_as_data_gets_the_issues_of_its_toml(profile):
    for p in (
        [profile] if profile else [load_profile(f) for f in (ROOT / "profiles").glob("*.toml")]
    ):
        assert _issues(check_profile_data(profile_data(p), "p.toml")) == _issues(
            check_profile_text(to_toml(p), "p.toml")
        )


def test_values_from_a_file_name_their_lines_others_do_not():
    text = 'engine = "vllm"\nmodel = "org/m"\n\nport = 70000\n[env]\nAPI_KEY = "abc"\n'
    data = tomllib.loads(text)
    with_lines = check_profile_data(data, "f.toml", LineIndex(text))[1]
    assert [str(i) for i in with_lines] == [
        "f.toml:6: env.API_KEY: looks like a secret written into the profile; keep secrets in "
        'your environment and pass them through with API_KEY = "$API_KEY"',
        "f.toml:4: port: 70000 is out of range; expected 1-65535",
    ]
    assert [str(i) for i in check_profile_text(text, "f.toml")[1]] == [str(i) for i in with_lines]
    bare = check_profile_data(data, "f.toml")[1]
    assert [i.line for i in bare] == [None, None]
    assert [i.message for i in bare] == [i.message for i in with_lines]


def test_preflight_reads_no_toml(tmp_path, port, monkeypatch):
    def no_toml(*_a, **_k):
        raise AssertionError("TOML parsed")

    monkeypatch.setattr(toml_text.tomllib, "loads", no_toml)
    sup = Supervisor(tmp_path / "state")
    bad = Profile(name="t", engine="vllm", model="org/m", port=port, gpu_memory_fraction=1.5)
    with pytest.raises(LaunchRefused, match=r"^profile 't' is invalid: gpu_memory_fraction: 1.5"):
        sup.preflight(bad)


def test_preflight_accepts_what_the_old_writer_could_not_write(tmp_path, port):
    sup = Supervisor(tmp_path / "state")
    p = Profile(name="t", engine="vllm", model="org/m", port=port, python=sys.executable,
                description="box\x01")  # fmt: skip
    with pytest.raises(LaunchRefused) as info:
        sup.preflight(p)
    assert "invalid" not in str(info.value) and "cannot import 'vllm'" in str(info.value)


# -- the profile form's values ------------------------------------------------------------


def test_form_values_over_the_files_keep_its_other_keys():
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
    profile, issues = check_form(raw, base, Path("my-qwen.toml"))
    assert [i for i in issues if i.severity == "error"] == [], issues
    assert profile.tensor_parallel == 2 and profile.gpu_memory_fraction == 0.85
    assert profile.extra_args == ("--enable-prefix-caching", "--max-num-batched-tokens", "8192")
    assert profile.description == "kept"
    assert dict(profile.env) == {"HF_HOME": "/data/hf"} and profile.engine_env == "ci-vllm"
    assert profile.port == 8000  # the form's (empty) port wins over the file's: engine default


def test_form_numbers_that_do_not_parse_are_named_by_validation():
    raw = {"name": "x", "engine": "vllm", "model": "a/b", "port": "eighty", "extra_args": "'a"}
    assert form_data(raw)["port"] == "eighty"
    _, issues = check_form(raw, None, Path("x.toml"))
    assert [(i.field, i.line) for i in issues] == [("port", None), ("extra_args", None)]
    assert "integer" in issues[0].message and "list of strings" in issues[1].message


def test_form_env_name_replaces_the_files_env_name():
    raw = {"name": "x", "engine": "vllm", "model": "a/b", "env": "new-env"}
    profile, issues = check_form(raw, {"env": "old-env"}, Path("x.toml"))
    assert profile is not None, issues
    assert (
        profile.engine_env == "new-env" and form_data(raw, {"env": "old-env"})["env"] == "new-env"
    )


def test_form_without_a_name_says_so():
    profile, issues = check_form({"engine": "vllm", "model": "a/b"}, None, Path("unnamed.toml"))
    assert profile is None
    assert str(issues[0]) == "unnamed.toml: name: missing; a profile needs a name"


def test_form_editing_a_file_names_the_files_line_of_a_key_the_form_does_not_show(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('engine = "vllm"\nmodel = "a/b"\n# GPUs\ngpus = "0,0"\n')
    base, lines = read_base(path)
    raw = {"name": "e", "engine": "vllm", "model": "a/b"}
    _, issues = check_form(raw, base, path, lines)
    assert [str(i) for i in issues] == [f"{path}:4: gpus: GPU 0 listed more than once"]


def test_form_reading_a_file_nested_too_deep_starts_blank(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text('engine = "vllm"\nx = ' + "[" * 600 + "]" * 600 + "\n")
    assert read_base(path) == ({}, None)
    assert read_base(tmp_path / "missing.toml") == ({}, None)
