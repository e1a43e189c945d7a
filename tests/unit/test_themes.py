"""Theme files: parsing, errors, user overrides, remembered choice."""

from __future__ import annotations

import pytest

from llmops_tui.themes import (
    ThemeFileError,
    builtin_themes_dir,
    load_themes,
    parse_theme,
    remembered_theme,
    save_setting,
)


def test_builtin_themes_dark_light_high_contrast():
    specs, errors = load_themes([builtin_themes_dir()])
    assert errors == []
    by_name = {s.name: s for s in specs}
    assert {"llmops-dark", "llmops-light", "llmops-high-contrast"} <= set(by_name)
    assert by_name["llmops-light"].dark is False
    assert by_name["llmops-high-contrast"].colors["background"] == "#000000"


def test_bad_theme_lists_each_problem():
    with pytest.raises(ThemeFileError) as exc:
        parse_theme('name = "x"\nprimary = "blue"\nbackgroud = "#000"\n', "t.toml")
    msg = str(exc.value)
    assert "t.toml: primary: expected a colour like \"#4EA1FF\", got 'blue'" in msg
    assert "t.toml: backgroud: unknown field" in msg


def test_user_theme_overrides_builtin_and_bad_file_is_skipped(tmp_path):
    user = tmp_path / "themes"
    user.mkdir()
    (user / "mine.toml").write_text('name = "llmops-dark"\nprimary = "#FF0000"\n')
    (user / "broken.toml").write_text("name = \n")
    specs, errors = load_themes([builtin_themes_dir(), user])
    dark = next(s for s in specs if s.name == "llmops-dark")
    assert dark.colors == {"primary": "#FF0000"}
    assert len(errors) == 1 and "broken.toml: invalid TOML" in errors[0]


def test_theme_choice_is_remembered():
    assert remembered_theme() == "llmops-dark"
    save_setting("theme", "llmops-light")
    assert remembered_theme() == "llmops-light"
