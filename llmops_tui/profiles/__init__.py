"""Launch profiles: one TOML file per engine launch.

A profile is validated completely before anything runs: every problem is
reported (not just the first), each naming the file, the line (where the TOML
text gives it) and the field, with what was expected.

Example::

    name = "vllm-llama70b-fp8-tp2"
    engine = "vllm"
    model = "meta-llama/Llama-3.1-70B-Instruct"
    quantization = "fp8"
    tensor_parallel = 2
    gpus = "0,1"
    port = 8000
    extra_args = ["--enable-prefix-caching"]

    [env]
    HF_TOKEN = "$HF_TOKEN"    # passed through from your environment, never written here

Modules: ``profile`` (the Profile record, issues, errors), ``schema`` (the fields: the one
list, tests/unit/test_profile_fields.py checks the others against it), ``validation``
(checking a profile's values as a dict, with the file's lines when it came from one),
``toml_text`` (reading and the one TOML writer), ``overrides`` (``--set``), ``form`` (the
profile form without Textual), ``store`` (load, list, find, save). The public
names are re-exported here, imported on first use (PEP 562): importing the package imports
no submodule, so two threads importing ``llmops_tui.profiles.store`` and ``…profile`` at once
cannot deadlock on the package's and a submodule's import locks (the TUI's workers did, ~1 start
in 30: ``_DeadlockError`` on ``llmops_tui.profiles.profile``, the app exited).
"""

from __future__ import annotations

from llmops_tui.lazy import lazy_exports

_HOMES = {
    "profile": (
        "ENV_NAME_RE",
        "ENV_REF_RE",
        "GPU_ID_RE",
        "MAX_PARALLEL",
        "NAME_RE",
        "REPO_ID_RE",
        "RUNTIMES",
        "SECRET_KEY_RE",
        "Profile",
        "ProfileError",
        "ProfileIssue",
        "looks_like_path",
    ),
    "schema": ("SCHEMA",),
    "store": (
        "ProfileEntry",
        "ProfileNotFound",
        "find_profile",
        "list_profiles",
        "load_profile",
        "profile_data",
        "save_profile",
        "to_toml",
    ),
    "validation": (
        "check_profile_data",
        "check_profile_file",
        "check_profile_text",
        "parse_profile",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
