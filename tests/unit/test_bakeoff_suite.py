"""Suite loader: built-ins load with the published-comparison shape; broken suites are
reported with file, line, field and what was expected — every problem, not the first."""

from __future__ import annotations

import pytest

from llmops_tui.bench.suite import (
    SuiteError,
    SuiteNotFound,
    find_suite,
    list_suites,
    load_suite_file,
    parse_suite,
)

GOOD_SCENARIO = """
[[scenario]]
name = "s"
input_len = 10
output_len = 5
num_requests = 2
"""


def errors_of(text: str, file: str = "broken.toml") -> list[str]:
    with pytest.raises(SuiteError) as info:
        parse_suite(text, file)
    return [str(i) for i in info.value.issues]


def test_standard_suite_matches_the_published_comparison_shape():
    s = find_suite("standard")
    by = {sc.name: sc for sc in s.scenarios}
    seq_short, seq_long = by["sequential-short"], by["sequential-long"]
    assert (seq_short.concurrency, seq_short.workload.input_len) == (1, 50)
    assert (seq_long.concurrency, seq_long.workload.input_len) == (1, 500)
    assert all(sc.workload.output_len == 500 for sc in (seq_short, seq_long))
    assert all(sc.workload.temperature == pytest.approx(0.01) for sc in s.scenarios)
    assert sorted(sc.concurrency for sc in s.scenarios if sc.name.startswith("concurrent")) == [
        10,
        100,
    ]
    assert by["shared-prefix"].workload.dataset == "shared-prefix"
    assert s.path is not None and s.path.name == "standard.toml"


def test_tiny_suite_is_small():
    s = find_suite("tiny")
    assert sum(sc.workload.num_requests for sc in s.scenarios) <= 30
    assert max(sc.workload.output_len for sc in s.scenarios) <= 16
    assert any(sc.workload.dataset == "shared-prefix" for sc in s.scenarios)


def test_user_suite_shadows_builtin_and_is_found_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_CONFIG_DIR", str(tmp_path))
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "tiny.toml").write_text('name = "tiny"\nwarmup = 0\n' + GOOD_SCENARIO)
    (tmp_path / "suites" / "mine.toml").write_text(GOOD_SCENARIO)  # name from the file
    assert find_suite("tiny").warmup == 0
    assert find_suite("mine").name == "mine"
    names = [n for n, _ in list_suites()]
    assert names.count("tiny") == 1 and "standard" in names and "mine" in names


def test_suite_by_path_and_unknown_name(tmp_path):
    f = tmp_path / "x.toml"
    f.write_text(GOOD_SCENARIO)
    assert find_suite(str(f)).scenarios[0].name == "s"
    with pytest.raises(SuiteNotFound, match=r"no suite named 'standrd'.*did you mean standard"):
        find_suite("standrd")
    with pytest.raises(SuiteError, match=r"nope.toml: no such file"):
        load_suite_file(tmp_path / "nope.toml")


def test_invalid_toml_gives_line_and_column():
    (err,) = errors_of('name = "x"\n\n[[scenario]]\nname = \n')
    assert err.startswith("broken.toml:4: invalid TOML:") and "column" in err


def test_scenario_errors_name_the_scenario_its_line_and_what_is_expected():
    text = """name = "x"
warmup = -1

[[scenario]]
name = "a"
input_len = 10
output_len = 0
num_requests = 2
concurency = 3

[[scenario]]
name = "b"
dataset = "shared-prefix"
input_len = 10
prefix_len = 20
output_len = 5
num_requests = "many"
"""
    errs = errors_of(text)
    assert "broken.toml:2: warmup: -1 must be ≥ 0" in errs
    assert "broken.toml:7: scenario[1].output_len: 0 must be ≥ 1" in errs
    assert any(
        e.startswith(
            "broken.toml:9: scenario[1].concurency: unknown field; did you mean 'concurrency'?"
        )
        for e in errs
    )
    assert (
        "broken.toml:17: scenario[2].num_requests: expected a whole number ≥ 1, got str 'many'"
        in errs
    )
    assert len(errs) == 4


def test_prefix_longer_than_prompt_and_bad_dataset():
    text = """[[scenario]]
name = "p"
dataset = "shared-prefix"
input_len = 10
prefix_len = 20
output_len = 5
num_requests = 2

[[scenario]]
name = "q"
dataset = "sharegpt"
input_len = 10
output_len = 5
num_requests = 2
"""
    errs = errors_of(text)
    assert "broken.toml:5: scenario[1].prefix_len: 20 must be between 1 and input_len-1 (9)" in errs
    assert any(
        e.startswith("broken.toml:11: scenario[2].dataset: 'sharegpt' is not one of random")
        for e in errs
    )


def test_missing_fields_point_at_the_scenario_header():
    text = 'name = "x"\n\n[[scenario]]\nname = "a"\ninput_len = 10\n'
    errs = errors_of(text)
    assert errs == [
        "broken.toml:3: scenario[1].output_len: missing; expected a whole number ≥ 1 "
        "(max output tokens)",
        "broken.toml:3: scenario[1].num_requests: missing; expected a whole number ≥ 1",
    ]


def test_no_scenarios_duplicate_names_and_bad_types():
    assert errors_of('name = "x"\n') == [
        "broken.toml: scenario: no [[scenario]] table: a suite needs at least one"
    ]
    errs = errors_of('name = "bad name!"\ntemperature = true\n' + GOOD_SCENARIO + GOOD_SCENARIO)
    assert (
        "broken.toml:1: name: 'bad name!' is not a name of letters, digits, '.', '_' or '-'" in errs
    )
    assert "broken.toml:2: temperature: expected a number in [0, 2], got bool True" in errs
    assert "broken.toml:11: scenario[2].name: 's' already used by scenario[1]" in errs


def test_concurrency_and_rate_checks_use_the_suite_field_names():
    text = GOOD_SCENARIO + "concurrency = 0\nrequest_rate = -2\ntemperature = 3.5\n"
    errs = errors_of(text)
    assert "broken.toml:7: scenario[1].concurrency: 0 must be ≥ 1" in errs
    assert "broken.toml:8: scenario[1].request_rate: -2.0 must be > 0 (or inf)" in errs
    assert "broken.toml:9: scenario[1].temperature: 3.5 must be in [0, 2]" in errs


def test_suite_temperature_is_the_scenarios_default():
    s = parse_suite(
        "temperature = 0.5\n"
        + GOOD_SCENARIO
        + GOOD_SCENARIO.replace('"s"', '"t"')
        + "temperature = 0.0\n"
    )
    assert [sc.workload.temperature for sc in s.scenarios] == [0.5, 0.0]
