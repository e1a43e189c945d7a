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

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
