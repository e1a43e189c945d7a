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

Modules: ``profile`` (the Profile record, issues, errors), ``schema`` (the fields),
``validation`` (checking TOML text), ``store`` (load, list, find, save). The public
names are re-exported here.
"""

from __future__ import annotations

from llmops_tui.profiles.profile import (
    ENV_NAME_RE,
    ENV_REF_RE,
    GPU_ID_RE,
    MAX_PARALLEL,
    NAME_RE,
    REPO_ID_RE,
    RUNTIMES,
    SECRET_KEY_RE,
    Profile,
    ProfileError,
    ProfileIssue,
    looks_like_path,
)
from llmops_tui.profiles.schema import SCHEMA
from llmops_tui.profiles.store import (
    ProfileEntry,
    ProfileNotFound,
    find_profile,
    list_profiles,
    load_profile,
    save_profile,
    to_toml,
)
from llmops_tui.profiles.validation import check_profile_file, check_profile_text, parse_profile

__all__ = [
    "ENV_NAME_RE",
    "ENV_REF_RE",
    "GPU_ID_RE",
    "MAX_PARALLEL",
    "NAME_RE",
    "REPO_ID_RE",
    "RUNTIMES",
    "SCHEMA",
    "SECRET_KEY_RE",
    "Profile",
    "ProfileEntry",
    "ProfileError",
    "ProfileIssue",
    "ProfileNotFound",
    "check_profile_file",
    "check_profile_text",
    "find_profile",
    "list_profiles",
    "load_profile",
    "looks_like_path",
    "parse_profile",
    "save_profile",
    "to_toml",
]
