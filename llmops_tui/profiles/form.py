"""The profile form (Engines tab: new / edit), without Textual: its fields, each engine's
choices, the file being edited, and the form's values checked as profile data.

:func:`check_form` puts the typed strings on top of the edited file's other values and
validates the result as a dict (``validation.check_profile_data``), naming lines of the file
being edited where a problem is in one of its keys; ``ui/tabs/profile_form.py`` shows each
issue under its field. Numbers that do not parse stay strings, so that validation names the
field and what it expected instead of the form guessing.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from llmops_tui.profiles.profile import Profile, ProfileIssue
from llmops_tui.profiles.toml_text import LineIndex, load_toml

# (profile field, label, kind) in the order shown. kind: text | int | float | choice | args.
# "env" holds the name of an engine environment (env = "name").
FIELDS: list[tuple[str, str, str]] = [
    ("name", "Name", "text"),
    ("engine", "Engine", "choice"),
    ("model", "Model", "text"),
    ("quantization", "Quantization", "choice"),
    ("dtype", "Dtype", "choice"),
    ("kv_cache_dtype", "KV cache dtype", "choice"),
    ("tensor_parallel", "Tensor parallel", "int"),
    ("pipeline_parallel", "Pipeline parallel", "int"),
    ("data_parallel", "Data parallel", "int"),
    ("port", "Port", "int"),
    ("gpu_memory_fraction", "Memory fraction", "float"),
    ("max_model_len", "Context length", "int"),
    ("max_num_seqs", "Max sequences", "int"),
    ("extra_args", "Extra args", "args"),
    ("python", "Python", "text"),
    ("env", "Engine env", "text"),
]
FORM_KEYS = {key for key, _, _ in FIELDS}


def choices_for(engine: str, key: str) -> list[str]:
    """Values the engine accepts for one choice field (sorted; empty: engine default)."""
    from llmops_tui.engines.facts import FACTS

    facts = FACTS.get(engine)
    if facts is None:
        return []
    return sorted(getattr(facts, key))


def read_base(path: Path) -> tuple[dict[str, Any], LineIndex | None]:
    """The values of the file being edited and where each is (empty when it cannot be read:
    the form then starts blank and the save reports what is wrong)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}, None
    data = load_toml(text, str(path))
    if isinstance(data, ProfileIssue):
        return {}, None
    return data, LineIndex(text)


def initial_text(base: dict[str, Any], key: str) -> str:
    """What the form's field shows for the file's value (empty: not set)."""
    value = base.get(key)
    if key == "env" and not isinstance(value, str):
        value = base.get("engine_env")  # an [env] table is kept as it is
    if value is None:
        return ""
    if key == "extra_args" and isinstance(value, list):
        return shlex.join(str(v) for v in value)
    return str(value)


def _typed(kind: str, text: str) -> Any:
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "args":
            return shlex.split(text)
    except ValueError:
        return text  # validation names the field and what it expected
    return text


def form_data(raw: dict[str, str], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The profile's values: the form's fields (blank: left out) over ``base``, the edited
    file's values (its keys the form does not show are kept)."""
    base = dict(base or {})
    env_table = base.get("env") if isinstance(base.get("env"), dict) else None
    # The form's "Engine env" names a managed environment: `env = "name"`, or `engine_env`
    # when the file has an [env] table of variables (kept as it is).
    kept = {k: v for k, v in base.items() if k not in FORM_KEYS and k != "engine_env"}
    out: dict[str, Any] = {}
    for key, _, kind in FIELDS:
        text = raw.get(key, "").strip()
        if not text:
            continue
        if key == "env" and env_table is not None:
            out["engine_env"] = text
        else:
            out[key] = _typed(kind, text)
    out.update({k: v for k, v in kept.items() if not isinstance(v, dict)})
    out.update({k: v for k, v in kept.items() if isinstance(v, dict)})  # tables last, as in
    if env_table is not None:  # a file; [env] after the others
        out["env"] = env_table
    return out


def check_form(
    raw: dict[str, str],
    base: dict[str, Any] | None,
    path: Path,
    lines: LineIndex | None = None,
) -> tuple[Profile | None, list[ProfileIssue]]:
    """The profile the form's values make, or None, and every issue (a blank name too)."""
    from llmops_tui.profiles.validation import check_profile_data

    profile, issues = check_profile_data(form_data(raw, base), path, lines)
    if not raw.get("name", "").strip():
        issues = [ProfileIssue(str(path), "name", "missing; a profile needs a name"), *issues]
        profile = None
    return profile, issues
