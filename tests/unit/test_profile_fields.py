"""The profile's field list lives in one place, profiles/schema.py's SCHEMA; everything else
that names fields is checked against it."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from llmops_tui.engines import ADAPTERS, adapter
from llmops_tui.engines.base import FLAG_FIELDS
from llmops_tui.engines.facts import FACTS
from llmops_tui.profiles.form import FIELDS as FORM_FIELDS
from llmops_tui.profiles.profile import Profile
from llmops_tui.profiles.schema import SCHEMA
from llmops_tui.profiles.validation import check_profile_text

ROOT = Path(__file__).resolve().parents[2]
# What each form kind must be in SCHEMA ("env" in the form names an engine environment).
FORM_KIND = {"text": {"str", "env"}, "choice": {"str"}, "int": {"int"}, "float": {"float"},
             "args": {"strlist"}}  # fmt: skip
# A value that is not the default, for each kind a flag field can have.
NOT_DEFAULT = {"str": '"x"', "int": "2", "float": "0.5", "bool": "true"}


def test_the_profile_record_has_exactly_the_schema_fields():
    assert {f.name for f in fields(Profile)} - {"path"} == set(SCHEMA)


def test_flag_fields_are_schema_fields_that_become_one_flag():
    assert set(FLAG_FIELDS) <= set(SCHEMA)
    assert len(set(FLAG_FIELDS)) == len(FLAG_FIELDS)
    assert {SCHEMA[f].kind for f in FLAG_FIELDS} <= {"str", "int", "float", "bool"}


@pytest.mark.parametrize("engine", list(ADAPTERS))
def test_each_adapter_maps_flag_fields_only(engine):
    assert set(adapter(engine).FLAGS) <= set(FLAG_FIELDS)


@pytest.mark.parametrize("engine", list(ADAPTERS))
def test_a_flag_field_the_adapter_has_no_flag_for_is_refused_by_validation(engine):
    """Else the profile would say e.g. pipeline_parallel = 2 and the engine never hear it."""
    for name in set(FLAG_FIELDS) - set(adapter(engine).FLAGS):
        text = f'engine = "{engine}"\nmodel = "org/m"\n{name} = {NOT_DEFAULT[SCHEMA[name].kind]}\n'
        _, issues = check_profile_text(text, "p.toml")
        assert any(i.field == name and i.severity == "error" for i in issues), (engine, name)


@pytest.mark.parametrize("engine", list(FACTS))
def test_the_flags_extra_args_may_not_repeat_name_schema_fields(engine):
    assert set(FACTS[engine].field_flags.values()) <= set(SCHEMA)


def test_the_forms_fields_are_schema_fields_of_a_matching_kind():
    keys = [key for key, _, _ in FORM_FIELDS]
    assert len(set(keys)) == len(keys)
    for key, _, kind in FORM_FIELDS:
        assert key in SCHEMA, key
        assert SCHEMA[key].kind in FORM_KIND[kind], (key, kind, SCHEMA[key].kind)


def test_the_readme_lists_every_field():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    para = text[text.index("Fields: `name`") : text.index("\n\n", text.index("Fields: `name`"))]
    named = re.findall(r"`([a-z_]+)`", re.sub(r"\([^)]*\)", "", para))
    assert named == list(dict.fromkeys(named)) and set(named) == set(SCHEMA)
