"""Every registered engine adapter provides the EngineAdapter protocol, member by member."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types
from types import SimpleNamespace

import pytest

from llmops_tui.engines import ADAPTERS, adapter
from llmops_tui.engines.base import FLAG_FIELDS
from llmops_tui.engines.contract import EngineAdapter
from llmops_tui.engines.facts import ENGINES
from llmops_tui.profiles import parse_profile

MEMBERS = sorted(
    n for n in {*EngineAdapter.__annotations__, *vars(EngineAdapter)} if not n.startswith("_")
)


def contract_problems(mod: object) -> list[str]:
    """What the module lacks or gets wrong against the protocol (empty: it conforms)."""
    problems = []
    for name in MEMBERS:
        if not hasattr(mod, name):
            problems.append(f"no {name}")
            continue
        wanted = getattr(EngineAdapter, name, None)
        if callable(wanted):
            got = getattr(mod, name)
            if not callable(got):
                problems.append(f"{name} is not callable")
                continue
            want = [p for p in inspect.signature(wanted).parameters if p != "self"]
            have = list(inspect.signature(got).parameters)
            if have != want:
                problems.append(f"{name}({', '.join(have)}), the protocol has ({', '.join(want)})")
    return problems


def test_the_protocol_names_what_callers_use():
    assert MEMBERS == ["FLAGS", "LOG_RULES", "SLEEP", "build_launch", "model_arg"]


def test_the_registry_names_every_engine_the_profiles_know():
    assert list(ADAPTERS) == list(ENGINES)
    with pytest.raises(ValueError, match="unknown engine 'ollama'; expected one of vllm"):
        adapter("ollama")


@pytest.mark.parametrize("engine", list(ADAPTERS))
def test_every_registered_adapter_satisfies_the_contract(engine):
    mod = adapter(engine)
    assert contract_problems(mod) == []
    assert isinstance(mod, EngineAdapter)
    assert set(mod.FLAGS) <= set(FLAG_FIELDS)
    assert mod.LOG_RULES.progress


@pytest.mark.parametrize("missing", MEMBERS)
def test_an_adapter_without_a_member_fails_the_check(missing):
    real = adapter("vllm")
    fake = types.ModuleType("fake_adapter")
    for name in MEMBERS:
        if name != missing:
            setattr(fake, name, getattr(real, name))
    assert contract_problems(fake) == [f"no {missing}"]
    assert not isinstance(fake, EngineAdapter)


def test_a_member_with_other_parameters_fails_the_check():
    fake = types.ModuleType("fake_adapter")
    for name in MEMBERS:
        setattr(fake, name, getattr(adapter("tgi"), name))
    fake.model_arg = lambda profile, python: profile.model
    assert contract_problems(fake) == ["model_arg(profile, python), the protocol has (profile)"]


def test_every_registered_engine_has_a_metric_map():
    from llmops_tui.telemetry.scrape.engine_maps import RANK_LABEL, WANTED

    assert set(WANTED) == set(ADAPTERS) == set(RANK_LABEL)


@pytest.mark.parametrize("engine", list(ADAPTERS))
def test_model_arg_is_the_model_the_engine_is_given(engine, monkeypatch):
    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.setenv("SUB", "models")
    mod = adapter(engine)
    hub = parse_profile(f'engine = "{engine}"\nmodel = "org/m"\n')
    assert mod.model_arg(hub) == "org/m"
    assert "org/m" in mod.build_launch(hub, environ={}).argv
    local = parse_profile(f'engine = "{engine}"\nmodel = "~/$SUB/m"\n')
    assert mod.model_arg(local) == "/home/u/models/m"
    assert "/home/u/models/m" in mod.build_launch(local, environ={}).argv


def test_the_load_test_reads_the_tokenizer_where_the_engine_reads_the_model(monkeypatch):
    """bench's tokenizer hint was os.path.expanduser only: a $VAR in a local model path
    reached the engine expanded and the tokenizer lookup unexpanded."""
    from llmops_tui.bench.bakeoff import _target

    monkeypatch.setenv("HOME", "/home/u")
    monkeypatch.setenv("SUB", "models")
    p = parse_profile('engine = "vllm"\nmodel = "~/$SUB/m"\n')
    target = _target(p, SimpleNamespace(base_url="http://127.0.0.1:1", served_model_name=""))
    assert target.tokenizer_hint == "/home/u/models/m" == adapter("vllm").model_arg(p)


def test_the_registry_imports_no_adapter_until_asked():
    code = (
        "import sys, llmops_tui.engines as e\n"
        "print(sorted(m for m in e.ADAPTERS.values() if m in sys.modules))\n"
        "e.adapter('tgi')\n"
        "print(sorted(m for m in e.ADAPTERS.values() if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["[]", "['llmops_tui.engines.tgi']"]


def test_a_type_checker_takes_each_adapter_module_for_an_engine_adapter(tmp_path):
    """mypy checks module against protocol (member types too: a data member declared
    mutable, FLAGS: Mapping, refused every adapter's dict). Skipped where mypy is absent."""
    api = pytest.importorskip("mypy.api")
    src = tmp_path / "typed_adapters.py"
    src.write_text(
        "from llmops_tui.engines import " + ", ".join(ADAPTERS) + "\n"
        "from llmops_tui.engines.contract import EngineAdapter\n"
        + "".join(f"_{e}: EngineAdapter = {e}\n" for e in ADAPTERS)
    )
    args = ["--follow-imports=silent", "--ignore-missing-imports", "--no-error-summary"]
    out, err, rc = api.run([*args, "--cache-dir", str(tmp_path / "cache"), str(src)])
    assert rc == 0, out + err
