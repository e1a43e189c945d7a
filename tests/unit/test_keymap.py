"""keymap.toml: parsing and checks (llmops_tui/keymap.py, no Textual)."""

from __future__ import annotations

import pytest

from llmops_tui.keymap import key_problem, keymap_path, keys_in_force, parse_keymap, read_keymap

IDS = {"engines.launch", "engines.stop", "app.quit", "app.help"}


def test_good_file():
    text = '# mine\n[keys]\n"engines.launch" = "L"\n"app.quit" = "ctrl+q, q"\n'
    keymap, issues = parse_keymap(text, "keymap.toml", IDS)
    assert issues == []
    assert keymap == {"engines.launch": "L", "app.quit": "ctrl+q,q"}


def test_unknown_binding_id_names_file_line_field_and_the_close_one():
    text = '[keys]\n"engines.launch" = "L"\n"engines.lanch" = "x"\n'
    keymap, issues = parse_keymap(text, "/cfg/keymap.toml", IDS)
    assert keymap == {"engines.launch": "L"}  # the good entry still applies
    [issue] = issues
    assert (issue.file, issue.line, issue.field) == ("/cfg/keymap.toml", 3, "engines.lanch")
    assert "unknown binding id" in issue.message and "engines.launch" in issue.message
    assert str(issue).startswith("/cfg/keymap.toml:3: engines.lanch: unknown binding id")


def test_bad_toml_gives_the_line():
    text = '[keys]\n"engines.launch" = "L"\n"app.quit" = \n'
    keymap, issues = parse_keymap(text, "keymap.toml", IDS)
    assert keymap == {}
    [issue] = issues
    assert issue.line == 3 and "invalid TOML" in issue.message


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ('"ctrl+"', "unknown key ''"),
        ('"cmd+l"', "unknown modifier 'cmd'"),
        ('"ctrl+ctrl+l"', "repeated"),
        ('"escpe"', "unknown key 'escpe'"),
        ('"l,,x"', "empty key"),
        ('" "', "empty key"),
        ("3", "expected a string"),
    ],
)
def test_bad_key(value, words):
    text = f'[keys]\n"app.help" = "f1"\n"engines.stop" = {value}\n'
    keymap, issues = parse_keymap(text, "keymap.toml", IDS)
    assert keymap == {"app.help": "f1"}
    [issue] = issues
    assert issue.line == 3 and issue.field == "engines.stop"
    assert words in issue.message


@pytest.mark.parametrize(
    "key", ["L", "?", "ctrl+l", "shift+f5", "pageup", "question_mark", "slash", "alt+1", "space"]
)
def test_good_keys(key):
    assert key_problem(key) is None


def test_keys_outside_the_keys_table():
    text = '"engines.launch" = "L"\n[keys]\n"app.quit" = "Q"\n'
    keymap, issues = parse_keymap(text, "keymap.toml", IDS)
    assert keymap == {"app.quit": "Q"}
    assert [(i.field, i.line) for i in issues] == [("engines.launch", 1)]


def test_missing_file_is_empty_and_silent(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_CONFIG_DIR", str(tmp_path))
    assert keymap_path() == tmp_path / "keymap.toml"
    assert read_keymap(IDS) == ({}, [])
    keymap_path().write_text('[keys]\n"app.quit" = "Q"\n')
    assert read_keymap(IDS) == ({"app.quit": "Q"}, [])


def test_keys_in_force():
    assert keys_in_force({"app.quit": "q", "app.help": "f1"}, {"app.quit": "Q"}) == {
        "app.quit": "Q",
        "app.help": "f1",
    }


SCOPES = {
    "engines.launch": ("EnginesTab", "l"),
    "engines.stop": ("EnginesTab", "s"),
    "app.quit": ("LlmopsApp", "q"),
    "app.help": ("LlmopsApp", "question_mark,f1"),
}


def test_a_key_another_binding_of_the_same_class_has_is_refused():
    text = '[keys]\n"app.help" = "f2"\n"engines.stop" = "l"\n'
    keymap, issues = parse_keymap(text, "keymap.toml", IDS, SCOPES)
    assert keymap == {"app.help": "f2"}  # the clash is left out, the rest applies
    [issue] = issues
    assert (issue.line, issue.field) == (3, "engines.stop")
    assert "'l' is already engines.launch's key" in issue.message


def test_two_entries_that_swap_keys_do_not_clash():
    text = '[keys]\n"engines.launch" = "s"\n"engines.stop" = "l"\n'
    assert parse_keymap(text, "keymap.toml", IDS, SCOPES) == (
        {"engines.launch": "s", "engines.stop": "l"},
        [],
    )


def test_one_key_spelled_two_ways_clashes_and_other_classes_do_not():
    # "?" is question_mark (app.help's); "q" in EnginesTab only shadows the app's quit there.
    text = '[keys]\n"app.quit" = "?"\n"engines.stop" = "q"\n'
    keymap, issues = parse_keymap(text, "keymap.toml", IDS, SCOPES)
    assert keymap == {"engines.stop": "q"}
    assert [(i.field, i.line) for i in issues] == [("app.quit", 2)]


def test_the_apps_own_bindings_do_not_clash():
    from llmops_tui.keymap import clashes
    from llmops_tui.ui.keys import binding_catalogue, binding_scopes

    scopes = binding_scopes(binding_catalogue())
    assert clashes({}, scopes) == []  # nothing to report on the defaults…
    # …and the check sees the app's real classes: the launch key onto the stop key.
    [(binding_id, why)] = clashes({"engines.launch": scopes["engines.stop"][1]}, scopes)
    assert binding_id == "engines.launch" and "engines.stop" in why
