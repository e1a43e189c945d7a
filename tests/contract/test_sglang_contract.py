"""SGLang: every argv the adapter builds, parsed by SGLang 0.5.23's own ServerArgs parser
(prepare_server_args: add_cli_args, the --config merge, from_cli_args) from the pinned
release installed without GPU dependencies (scripts/setup-contract-engines); the values
SGLang read must be the profile's. The app's lists must be the parser's choices."""

from __future__ import annotations

import pytest
from conftest import SGLANG_VERSION, run_probe
from docker_rules import split_run
from launches import after, build_all, model_arg, unknown_refusals

from llmops_tui.engines import sglang
from llmops_tui.engines.facts import SGLANG

# A --config YAML as a profile author could write one (flag names as keys): SGLang merges
# it into its argv; an api-key given this way is what the adapter refuses (see below).
CONFIG_CASE = {
    "id": "config-file",
    "argv": ["--model-path", "org/m", "--port", "30001", "--config", "c.yaml"],
    "files": {"c.yaml": 'api-key: "sk-contract-1"\nmax-running-requests: 7\n'},
}


@pytest.fixture(scope="module")
def checked(engine_python, sglang_dir, tmp_path_factory):
    built, check_refused = build_all("sglang", tmp_path_factory.mktemp("state"))
    payload = [CONFIG_CASE]
    for b in built:
        if b.spec is not None:
            payload.append(
                {"id": b.case.id, "argv": after(list(b.spec.argv), sglang.LAUNCH_MODULE)}
            )
    out = run_probe(engine_python, "probe_sglang.py", {"cases": payload}, pythonpath=sglang_dir)
    return built, check_refused, out


def expected(b) -> dict:
    p, docker = b.case.profile, b.spec.runtime == "docker"
    want = {
        "model_path": model_arg(b),
        "host": "0.0.0.0" if docker else p.host,
        "port": sglang.DOCKER_PORT if docker else p.port,
        "tp_size": p.tensor_parallel,
        "pp_size": p.pipeline_parallel,
        "dp_size": p.data_parallel,
        "quantization": p.quantization,
        "dtype": p.dtype or "auto",
        "kv_cache_dtype": p.kv_cache_dtype or "auto",
        "context_length": p.max_model_len,
        "max_running_requests": p.max_num_seqs,
        "served_model_name": p.served_model_name,
        "revision": p.revision,
        "trust_remote_code": p.trust_remote_code,
        "enable_metrics": True,  # the KV pane needs /metrics
        "api_key": None,
    }
    if p.gpu_memory_fraction is not None:
        want["mem_fraction_static"] = p.gpu_memory_fraction
    return want


def test_the_engine_is_the_pinned_release(checked):
    assert checked[2]["version"] == SGLANG_VERSION


def test_every_argv_is_accepted_and_read_as_the_profile_says(checked):
    built, check_refused, out = checked
    problems = unknown_refusals(built)
    for b in built:
        if b.spec is None:
            continue
        got = out["results"][b.case.id]
        if not got["ok"]:
            problems.append(f"{b.case.id}: SGLang refused {list(b.spec.argv)}: {got['error']}")
            continue
        for key, want in expected(b).items():
            if got["values"][key] != want:
                problems.append(f"{b.case.id}: {key} read as {got['values'][key]!r}, want {want!r}")
    launched = sum(b.spec is not None for b in built)
    print(
        f"SGLang matrix: {len(built)} profiles, {launched} launch lines, "
        f"{len(built) - launched} refused by the adapter, {check_refused} by the check"
    )
    assert launched > 300
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:40])


def test_the_apps_lists_are_the_parsers_choices(checked):
    lists = checked[2]["lists"]
    assert sorted(SGLANG.quantization) == lists["quantization"]
    assert sorted(SGLANG.dtype) == lists["dtype"]
    assert sorted(SGLANG.kv_cache_dtype) == lists["kv_cache_dtype"]


def test_a_config_file_key_ends_up_in_sglangs_arguments(checked):
    """Why the adapter refuses api_key_env: a key given in the --config file is merged
    into the argv SGLang keeps (launch_command, /server_info) and logs at start. If a
    release stops doing so, this fails and the refusal can be reconsidered."""
    got = checked[2]["results"]["config-file"]
    assert got["ok"], got
    assert got["values"]["api_key"] == "sk-contract-1"
    assert "--api-key sk-contract-1" in got["values"]["launch_command"]
    assert got["values"]["max_running_requests"] == 7
    assert got["values"]["port"] == 30001


def test_docker_lines_obey_dockers_rules(checked):
    problems = []
    for b in checked[0]:
        if b.spec is not None and b.spec.runtime == "docker":
            problems += [f"{b.case.id}: {p}" for p in split_run(list(b.spec.argv))[3]]
    assert not problems, "\n".join(problems[:40])
