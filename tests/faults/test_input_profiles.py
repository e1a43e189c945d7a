"""Bad input in profiles and --set: 500 nested arrays in one file of the user's profile folder,
an empty, a table or a deeply nested --set value, two files with the same name. Each is reported
with file/line/field (or the --set key) and breaks nothing else: profiles list/check, up,
bench --profile and the TUI keep working, never a traceback."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable

from llmops_tui.cli import main
from llmops_tui.ui.app import LlmopsApp

ROOT = Path(__file__).resolve().parents[2]
TINY = str(ROOT / "profiles/tiny-vllm-cpu.toml")
DEEP = 'engine = "vllm"\nmodel = "org/m"\nextra_args = ' + "[" * 500 + "]" * 500 + "\n"


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    d = tmp_path / "user-profiles"
    d.mkdir()
    monkeypatch.setenv("LLMOPS_PROFILES", f"{d}{os.pathsep}{ROOT / 'profiles'}")
    return d


def test_check_names_file_line_and_field_of_deep_nesting(tmp_path, capsys):
    bad = tmp_path / "deep.toml"
    bad.write_text(DEEP)
    assert main(["profiles", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3: extra_args: arrays or tables nested more than 16 deep" in err


def test_deep_nesting_inside_strings_and_comments_is_not_nesting(tmp_path, capsys):
    ok = tmp_path / "ok.toml"
    brackets = "[" * 40
    ok.write_text(
        f'engine = "vllm"\nmodel = "org/m"\ndescription = "{brackets}"  # {brackets}\n'
        f'extra_args = [\'{brackets}\', """{brackets}\\""""]\n'
    )
    assert main(["profiles", "check", str(ok)]) == 0, capsys.readouterr().err


def test_one_deep_file_breaks_no_other_command(user_dir, capsys):
    (user_dir / "deep.toml").write_text(DEEP)
    assert main(["profiles", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-vllm-cpu" in out and "deep" in out and "1 error(s)" in out
    assert main(["profiles", "check"]) == 1
    err = capsys.readouterr().err
    assert f"{user_dir / 'deep.toml'}:3: extra_args: arrays or tables nested" in err
    assert main(["up", "no-such-profile"]) == 4  # looked up among the others, as usual
    assert "no profile named 'no-such-profile'" in capsys.readouterr().err
    assert main(["up", "deep"]) == 2
    assert "nested more than 16 deep" in capsys.readouterr().err
    rc = main(["bench", "--profile", "no-such", "--num-requests", "1", "--input-len", "1",
               "--output-len", "1"])  # fmt: skip
    assert rc == 2 and "no profile named 'no-such'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "item,message",
    [
        ("port=", "--set port: expected an integer"),
        ("port={a=1}", "--set port: expected an integer"),
        ("port=99999", "--set port: 99999 is out of range"),
        ("extra_args=" + "[" * 600 + "]" * 600, "--set extra_args: value nested more than 16"),
        ("gpus=[[0]]", "--set gpus: expected GPU ids"),
        ("quantization=fp9", "--set quantization: vLLM does not accept quantization 'fp9'"),
    ],
    ids=["empty", "table", "range", "deep", "gpus-nested", "quantization"],
)
def test_bad_set_values_are_refused_with_the_key(item, message, capsys):
    assert main(["up", TINY, "--set", item]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_same_name_in_one_folder_is_warned_not_silently_hidden(user_dir, capsys):
    (user_dir / "a.toml").write_text('name = "twin"\nengine = "vllm"\nmodel = "org/a"\n')
    (user_dir / "b.toml").write_text('name = "twin"\nengine = "vllm"\nmodel = "org/b"\n')
    assert main(["profiles", "list"]) == 0
    cap = capsys.readouterr()
    assert "ok, hides b.toml" in cap.out
    assert f"{user_dir / 'a.toml'}:1: warning: name: 'twin' is also the name of" in cap.err
    assert str(user_dir / "b.toml") in cap.err
    assert main(["profiles", "check"]) == 0
    assert "'twin' is also the name of" in capsys.readouterr().out
    main(["profiles", "check", str(user_dir / "a.toml"), str(user_dir / "b.toml")])
    assert "'twin' is also the name of" in capsys.readouterr().out


def test_user_shadowing_a_shipped_profile_is_not_a_warning(user_dir, capsys):
    (user_dir / "mine.toml").write_text(
        'name = "tiny-vllm-cpu"\nengine = "vllm"\nmodel = "org/mine"\n'
    )
    assert main(["profiles", "list"]) == 0
    cap = capsys.readouterr()
    assert "org/mine" in cap.out and "warning" not in cap.err


async def test_tui_lists_profiles_beside_a_deep_one_and_warns_of_twins(user_dir):
    (user_dir / "deep.toml").write_text(DEEP)
    (user_dir / "a.toml").write_text('name = "twin"\nengine = "vllm"\nmodel = "org/a"\n')
    (user_dir / "b.toml").write_text('name = "twin"\nengine = "vllm"\nmodel = "org/b"\n')
    app = LlmopsApp(engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one("#profiles", DataTable)
        for _ in range(100):
            if table.row_count:
                break
            await asyncio.sleep(0.05)
        await pilot.pause()
        keys = {r.value for r in table.rows}
        assert {"deep", "twin", "tiny-vllm-cpu"} <= keys
        assert "✗ 1 error" in str(table.get_row("deep"))
        warned = [n for n in app._notifications if n.severity == "warning"]
        assert warned and "a.toml hides b.toml" in warned[0].message
        assert app.is_running


def test_set_python_replaces_the_profiles_engine_env():
    from llmops_tui.profiles.overrides import apply_overrides
    from llmops_tui.profiles.profile import ProfileError
    from llmops_tui.profiles.store import load_profile

    tiny = load_profile(TINY)
    assert tiny.engine_env == "ci-vllm"
    p = apply_overrides(tiny, ["python=/opt/vllm/bin/python", "port=8123"])
    assert (p.python, p.engine_env, p.port) == ("/opt/vllm/bin/python", None, 8123)
    with pytest.raises(ProfileError, match="set either python"):
        apply_overrides(tiny, ["python=/x/python", "executable=vllm"])


async def test_tui_shows_a_profile_description_with_brackets_as_written(user_dir):
    (user_dir / "aaa.toml").write_text(
        'engine = "vllm"\nmodel = "./m[/x]"\ndescription = "[/oops] not markup [b]"\n'
    )
    app = LlmopsApp(engines_poll_s=0, gpu_poll_s=0)
    async with app.run_test(size=(100, 30)) as pilot:
        detail = app.query_one("#profile-detail")
        for _ in range(100):
            if "not markup" in str(detail.render()):
                break
            await asyncio.sleep(0.05)
        await pilot.pause()
        assert "[/oops] not markup [b]" in str(detail.render())
        row = app.query_one("#profiles", DataTable).get_row("aaa")
        assert "./m[/x]" in [Text.from_markup(str(c)).plain for c in row]  # as rendered
        assert app.is_running
