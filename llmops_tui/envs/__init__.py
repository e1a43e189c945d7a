"""Engine environments: the virtualenvs (and images) engines run from.

vLLM, SGLang and TGI pin different torch/CUDA stacks, so each lives in its own
environment. This package

- manages named venvs under ``config.paths().envs`` (``$LLMOPS_ENVS_DIR`` or
  ``<data>/envs``): ``create`` (uv when on PATH, else ``python -m venv`` + pip),
  ``remove``, ``get_env``;
- discovers the others: the current interpreter, ``vllm`` /
  ``text-generation-launcher`` on PATH, interpreters named in profiles, and
  engine images in Docker;
- resolves a profile to its interpreter and checks it before a launch.

Facts about an env come from running its interpreter (``envprobe``), never
from importing an engine here.

Layout of a managed env ``<envs>/<name>/``: the venv itself (``bin/python``…),
``install.log`` (the installer's whole output), and one state file:
``llmops-env.json`` (written only after the install AND the import check
passed: the env is usable), ``llmops-env.failed.json`` (the install failed;
the venv is removed, the log and pip's error are kept) or, while installing,
``llmops-env.lock`` (the installer's pid). A folder with none of them is
half-made and never used.

Split by concern: ``records`` (states, errors, EngineEnv), ``managed`` (paths, state
files), ``discovery``, ``install`` (create/remove), ``launch`` (profile → interpreter).
The public names are re-exported here.
"""

from __future__ import annotations

from llmops_tui.envs.discovery import discover, docker_envs
from llmops_tui.envs.install import (
    PLAIN_REQUIREMENT_RE,
    create,
    extract_pip_errors,
    install_plan,
    remove,
)
from llmops_tui.envs.launch import check_launch_env, resolve_engine_interpreter
from llmops_tui.envs.managed import (
    apply_probe,
    check_env_name,
    env_dir,
    env_python,
    envs_dir,
    get_env,
    lock_owner,
    managed_names,
    managed_state,
    read_json,
    read_marker,
    write_json,
)
from llmops_tui.envs.records import (
    BROKEN,
    CREATABLE_ENGINES,
    DEFAULT_COMMANDS,
    DEFAULT_SPECS,
    FAILED,
    FAILED_MARKER,
    INCOMPLETE,
    INSTALL_LOG,
    INSTALLING,
    KEEP_ON_FAILURE,
    LOCK,
    MARKER,
    MISSING,
    NO_ENGINE,
    NOT_PULLED,
    PATH_COMMANDS,
    PRESENT,
    READY,
    UNKNOWN,
    VLLM_CPU_REMOVE,
    VLLM_CPU_TORCH,
    EngineEnv,
    EnvCreateError,
    EnvError,
    InstallProgress,
    ProgressCallback,
)

__all__ = [
    "BROKEN",
    "CREATABLE_ENGINES",
    "DEFAULT_COMMANDS",
    "DEFAULT_SPECS",
    "FAILED",
    "FAILED_MARKER",
    "INCOMPLETE",
    "INSTALLING",
    "INSTALL_LOG",
    "KEEP_ON_FAILURE",
    "LOCK",
    "MARKER",
    "MISSING",
    "NOT_PULLED",
    "NO_ENGINE",
    "PATH_COMMANDS",
    "PLAIN_REQUIREMENT_RE",
    "PRESENT",
    "READY",
    "UNKNOWN",
    "VLLM_CPU_REMOVE",
    "VLLM_CPU_TORCH",
    "EngineEnv",
    "EnvCreateError",
    "EnvError",
    "InstallProgress",
    "ProgressCallback",
    "apply_probe",
    "check_env_name",
    "check_launch_env",
    "create",
    "discover",
    "docker_envs",
    "env_dir",
    "env_python",
    "envs_dir",
    "extract_pip_errors",
    "get_env",
    "install_plan",
    "lock_owner",
    "managed_names",
    "managed_state",
    "read_json",
    "read_marker",
    "remove",
    "resolve_engine_interpreter",
    "write_json",
]
