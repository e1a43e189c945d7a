"""The real vLLM CPU engine launched through a two-line `exec python "$@"` wrapper (what
pyenv shims and environment-module wrappers are): the root's command line is the
interpreter's, not the argv llmops ran. `ps`, `top`, `logs` and `down` from new processes
must still find it (on the H200 they said 'failed' and stopped nothing). Then a kill -9 of
the API server: `ps` shows the EngineCore and Worker it leaves (pids, RSS) and that `down`
ends them; `down` does."""

from __future__ import annotations

from vllm_process import up_ps_top_logs_down

from llmops_tui.profiles.store import to_toml

READY_TIMEOUT_S = 240


def test_wrapper_interpreter_up_ps_top_logs_down(tiny_profile, engine_python, tmp_path):
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec {engine_python} "$@"\n')
    wrapper.chmod(0o755)
    profile = tiny_profile.with_overrides(engine_env=None, python=str(wrapper))
    path = tmp_path / f"{profile.name}.toml"
    path.write_text(to_toml(profile))
    up_ps_top_logs_down(path, profile.name, READY_TIMEOUT_S, kill_api_server=True)
