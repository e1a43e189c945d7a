"""Checking a profile's TOML text completely: every problem, with file, line, field and
what was expected."""

from __future__ import annotations

import difflib
import ipaddress
import math
import os
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

from llmops_tui.engines.facts import DOCKER_HOST_IP_REASON, ENGINES, FACTS, is_ip_literal
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
from llmops_tui.profiles.toml_text import LineIndex, load_toml, tomllib

__all__ = ["check_profile_file", "check_profile_text", "parse_profile", "tomllib"]


def _type_name(value: Any) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


# ---------------------------------------------------------------------------
# Validation


class _Checker:
    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = LineIndex(text)
        self.issues: list[ProfileIssue] = []

    def error(self, fld: str | None, message: str, table: str | None = None) -> None:
        line = self.lines.line(fld, table) if fld else None
        name = f"{table}.{fld}" if table and fld else fld
        self.issues.append(ProfileIssue(self.file, name, message, line))

    def warn(self, fld: str | None, message: str) -> None:
        line = self.lines.line(fld) if fld else None
        self.issues.append(ProfileIssue(self.file, fld, message, line, severity="warning"))


def _check_types(c: _Checker, data: dict[str, Any]) -> dict[str, Any]:
    """Type-check known fields; returns the values that passed."""
    ok: dict[str, Any] = {}
    for key, value in data.items():
        spec = SCHEMA.get(key)
        if spec is None:
            close = difflib.get_close_matches(key, SCHEMA.keys(), n=1, cutoff=0.75)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            if key in ENGINES and isinstance(value, dict):
                hint = ' (engine-specific flags go in extra_args = ["--flag", "value"])'
            c.error(key, f"unknown field{hint}")
            continue
        kind = spec.kind
        if kind == "str":
            if not isinstance(value, str):
                c.error(key, f"expected a string ({spec.doc}), got {_type_name(value)}")
                continue
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                c.error(key, f"expected an integer ({spec.doc}), got {_type_name(value)}")
                continue
        elif kind == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                c.error(key, f"expected a number ({spec.doc}), got {_type_name(value)}")
                continue
            value = float(value)
        elif kind == "bool":
            if not isinstance(value, bool):
                c.error(key, f"expected true or false, got {_type_name(value)}")
                continue
        elif kind == "strlist":
            if not isinstance(value, list):
                c.error(key, f"expected a list of strings ({spec.doc}), got {_type_name(value)}")
                continue
            bad = [i for i, v in enumerate(value) if not isinstance(v, str)]
            if bad:
                i = bad[0]
                c.error(
                    key,
                    f"item {i} is {_type_name(value[i])} ({value[i]!r}); every item must be a "
                    'string, e.g. ["--max-num-batched-tokens", "8192"]',
                )
                continue
            value = tuple(value)
        elif kind == "gpus":
            value = _check_gpus(c, value)
            if value is None:
                continue
        elif kind == "env":
            if isinstance(value, str):
                ok["engine_env"] = value
                continue
            if not isinstance(value, dict):
                c.error(key, f'expected a table of NAME = "value", got {_type_name(value)}')
                continue
            value = _check_env_table(c, value)
            if value is None:
                continue
        ok[key] = value
    return ok


def _check_gpus(c: _Checker, value: Any) -> str | None:
    if isinstance(value, bool):
        c.error("gpus", f'expected GPU ids like "0,1" or [0, 1], got {_type_name(value)}')
        return None
    if isinstance(value, int):
        items = [str(value)]
    elif isinstance(value, str):
        items = [p.strip() for p in value.split(",")] if value.strip() else []
    elif isinstance(value, list):
        items = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, str)):
                c.error("gpus", f"expected GPU ids (integers or GPU-UUID strings), got {v!r}")
                return None
            items.append(str(v).strip())
    else:
        c.error("gpus", f'expected GPU ids like "0,1" or [0, 1], got {_type_name(value)}')
        return None
    if not items:
        c.error("gpus", "empty GPU list; leave gpus out to use what CUDA_VISIBLE_DEVICES allows")
        return None
    for item in items:
        if not GPU_ID_RE.match(item):
            c.error("gpus", f"'{item}' is not a GPU index (0, 1, …) or a GPU-/MIG- UUID")
            return None
    dupes = sorted({i for i in items if items.count(i) > 1})
    if dupes:
        c.error("gpus", f"GPU {', '.join(dupes)} listed more than once")
        return None
    return ",".join(items)


def _check_env_table(c: _Checker, table: dict[str, Any]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    good = True
    for k, v in table.items():
        if not ENV_NAME_RE.match(k):
            c.error(k, "not a valid environment variable name", table="env")
            good = False
            continue
        if isinstance(v, bool) or not isinstance(v, (str, int, float)):
            c.error(k, f"expected a string value, got {_type_name(v)}", table="env")
            good = False
            continue
        v = str(v)
        if SECRET_KEY_RE.search(k) and v and not ENV_REF_RE.match(v):
            c.error(
                k,
                "looks like a secret written into the profile; keep secrets in your "
                f'environment and pass them through with {k} = "${k}"',
                table="env",
            )
            good = False
            continue
        out[k] = v
    return out if good else None


def _check_values(c: _Checker, v: dict[str, Any]) -> None:
    engine = v.get("engine")
    if "engine" in v and engine not in ENGINES:
        close = difflib.get_close_matches(str(engine), ENGINES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        c.error(
            "engine", f"'{engine}' is not an engine; expected one of {', '.join(ENGINES)}{hint}"
        )
        engine = None

    if "name" in v and not NAME_RE.match(v["name"]):
        c.error(
            "name",
            "expected 1-64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (the name is used in paths and container names)",
        )

    model = v.get("model")
    if model is not None:
        if not model.strip():
            c.error("model", "empty; expected a Hugging Face repo id (org/name) or a local path")
        elif not looks_like_path(model) and not REPO_ID_RE.match(model):
            c.error(
                "model",
                f"'{model}' is neither a Hugging Face repo id like 'org/name' nor a "
                "local path (start local paths with /, ~ or ./)",
            )

    if "host" in v:
        _check_host(c, v["host"])

    if "port" in v:
        port = v["port"]
        if not 1 <= port <= 65535:
            c.error("port", f"{port} is out of range; expected 1-65535")
        elif port < 1024:
            c.warn("port", f"{port} is a privileged port; the engine needs root to bind it")

    for key in ("tensor_parallel", "pipeline_parallel", "data_parallel"):
        if key in v and not 1 <= v[key] <= MAX_PARALLEL:
            c.error(key, f"{v[key]} is out of range; expected 1-{MAX_PARALLEL}")

    if "gpu_memory_fraction" in v:
        f = v["gpu_memory_fraction"]
        if not (math.isfinite(f) and 0 < f <= 1):
            c.error(
                "gpu_memory_fraction", f"{f} is out of range; expected 0 < fraction <= 1 (e.g. 0.9)"
            )

    for key in ("max_model_len", "max_num_seqs"):
        if key in v and v[key] < 1:
            c.error(key, f"{v[key]} is out of range; expected an integer >= 1")

    for key in ("revision", "served_model_name", "python", "executable", "image", "engine_env"):
        if key in v and not v[key].strip():
            c.error(key, "empty string; leave the field out instead")

    if "api_key_env" in v and not ENV_NAME_RE.match(v["api_key_env"]):
        c.error(
            "api_key_env",
            f"'{v['api_key_env']}' is not an environment variable name; "
            "name the variable that holds the key (e.g. VLLM_API_KEY), not the key itself",
        )

    runtime = v.get("runtime", "native")
    if runtime not in RUNTIMES:
        c.error("runtime", f"'{runtime}' is not a runtime; expected native or docker")
        runtime = None

    if "python" in v and "executable" in v:
        c.error(
            "executable",
            "set either python (an interpreter that runs the engine module) or "
            "executable (the engine binary), not both",
        )
    if runtime == "docker":
        for key in ("python", "executable", "engine_env"):
            if key in v:
                c.error(key, 'not used with runtime = "docker": the image provides the engine')
        if "image" not in v and engine is not None and FACTS[engine].default_image is None:
            c.error(
                "runtime",
                'runtime = "docker" needs image = "…" (e.g. '
                '"ghcr.io/huggingface/text-generation-inference:3.3.6")',
            )
    elif runtime == "native" and "image" in v:
        c.error("image", 'image is only used with runtime = "docker"')
    if "engine_env" in v and ("python" in v or "executable" in v):
        c.error("engine_env", "set one of env (a named engine environment), python or executable")

    if engine is not None:
        _check_engine_specific(c, engine, v)


def _check_host(c: _Checker, host: str) -> None:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        if not re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$", host):
            c.error("host", f"'{host}' is not an IP address or host name")
        return
    if addr.is_unspecified:
        c.warn(
            "host",
            f"{host} exposes the engine on every network interface of this box; "
            "keep 127.0.0.1 unless others must reach it (and then set api_key_env)",
        )


def _check_engine_specific(c: _Checker, engine: str, v: dict[str, Any]) -> None:
    facts = FACTS[engine]
    for key, allowed in (
        ("quantization", facts.quantization),
        ("dtype", facts.dtype),
        ("kv_cache_dtype", facts.kv_cache_dtype),
    ):
        if key in v and v[key] not in allowed:
            close = difflib.get_close_matches(v[key], sorted(allowed), n=1, cutoff=0.6)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            choices = ", ".join(sorted(allowed))
            c.error(
                key,
                f"{facts.label} does not accept {key} '{v[key]}'{hint}; expected one of: {choices}",
            )
    if facts.api_key_refusal and "api_key_env" in v:
        c.error("api_key_env", facts.api_key_refusal)
    host = v.get("host")
    if host is not None and not is_ip_literal(host):
        if v.get("runtime") == "docker":
            c.error("host", DOCKER_HOST_IP_REASON.format(host=host))
        elif facts.host_ip_reason:
            c.error("host", facts.host_ip_reason.format(host=host))
    quant = v.get("quantization")
    if quant in facts.deprecated_quantization:
        if facts.deprecated_flag in v.get("extra_args", ()):
            c.warn("quantization", f"{facts.label} deprecates quantization '{quant}'")
        else:
            c.error(
                "quantization",
                f"{facts.label} deprecates quantization '{quant}' and refuses it unless "
                f'extra_args has "{facts.deprecated_flag}"',
            )

    if not facts.pipeline_parallel and v.get("pipeline_parallel", 1) > 1:
        c.error(
            "pipeline_parallel",
            f"{facts.label} has no pipeline parallelism; use tensor_parallel (--num-shard)",
        )
    if not facts.data_parallel and v.get("data_parallel", 1) > 1:
        c.error(
            "data_parallel",
            f"{facts.label} has no data parallelism; run one profile per "
            "replica on its own gpus and port",
        )
    if not facts.served_model_name and "served_model_name" in v:
        c.error(
            "served_model_name",
            f"{facts.label}'s launcher has no --served-model-name; clients use the model id",
        )
    if not facts.max_num_seqs and "max_num_seqs" in v:
        c.error(
            "max_num_seqs",
            f"{facts.label} has no per-sequence limit; use extra_args "
            '["--max-concurrent-requests", "N"] or ["--max-batch-total-tokens", "N"]',
        )

    if engine == "tgi":
        if "dtype" in v and "quantization" in v:
            c.error("dtype", "TGI refuses --dtype together with --quantize; drop one of them")
        if v.get("quantization") == "exl2" and v.get("tensor_parallel", 1) > 1:
            c.error(
                "quantization", "TGI's exl2 does not support tensor parallelism (num_shard > 1)"
            )

    extra = v.get("extra_args", ())
    _check_sleep_mode(c, engine, v, extra)
    for arg in extra:
        flag = arg.split("=", 1)[0]
        fld = facts.field_flags.get(flag)
        if fld == "api_key_env":
            c.error(
                "extra_args",
                f"'{flag}' would put the API key on the command line, where "
                '`ps` shows it; set api_key_env = "NAME_OF_VARIABLE" instead',
            )
        elif fld is not None:
            c.error(
                "extra_args", f"'{flag}' duplicates the profile field '{fld}'; set {fld} instead"
            )

    gpus = v.get("gpus")
    if gpus is not None:
        count = len(gpus.split(","))
        need = v.get("tensor_parallel", 1) * v.get("pipeline_parallel", 1)
        dp = v.get("data_parallel", 1)
        if not (engine == "sglang" and "--enable-dp-attention" in extra):
            need *= dp
        if count < need:
            c.error(
                "gpus",
                f"{count} GPU(s) listed but the parallel layout needs {need} "
                f"(tensor {v.get('tensor_parallel', 1)} × pipeline "
                f"{v.get('pipeline_parallel', 1)} × data {dp})",
            )


def _check_sleep_mode(c: _Checker, engine: str, v: dict[str, Any], extra) -> None:
    """sleep_mode needs an engine that can sleep; its flags belong to the field, not extra_args
    (a hand-written --enable-sleep-mode lacks the development endpoints the swap calls)."""
    from llmops_tui.engines import adapter

    api = getattr(adapter(engine), "SLEEP", None)
    if api is None:
        if v.get("sleep_mode"):
            c.error(
                "sleep_mode",
                f"{FACTS[engine].label} has no sleep mode (vLLM and SGLang do); remove sleep_mode",
            )
        return
    for arg in extra:
        if arg.split("=", 1)[0] in api.flags:
            c.error(
                "extra_args",
                f"'{arg}' is part of sleep_mode = true ({' '.join(api.flags)}"
                + (f", {', '.join(f'{k}={x}' for k, x in api.env.items())}" if api.env else "")
                + "); set sleep_mode = true instead",
            )


def parse_profile(text: str, file: str | os.PathLike[str] = "<profile>") -> Profile:
    """Parse and validate profile text. Raises ProfileError listing every error."""
    profile, issues = check_profile_text(text, file)
    errors = [i for i in issues if i.severity == "error"]
    if errors or profile is None:
        raise ProfileError(errors)
    return profile


def check_profile_text(
    text: str, file: str | os.PathLike[str] = "<profile>"
) -> tuple[Profile | None, list[ProfileIssue]]:
    """Validate; returns (profile or None, every issue found incl. warnings)."""
    fname = str(file)
    c = _Checker(fname, text)
    data = load_toml(text, fname)
    if isinstance(data, ProfileIssue):
        c.issues.append(data)
        return None, c.issues

    values = _check_types(c, data)
    for required in ("engine", "model"):
        if required not in data:
            c.issues.append(
                ProfileIssue(fname, required, f"missing; expected {SCHEMA[required].doc}")
            )
    _check_values(c, values)
    if any(i.severity == "error" for i in c.issues):
        return None, c.issues

    engine = values["engine"]
    if "name" not in values:
        stem = Path(fname).stem if fname != "<profile>" else "profile"
        if not NAME_RE.match(stem):
            c.issues.append(
                ProfileIssue(
                    fname,
                    "name",
                    f"no name given and the file name '{stem}' "
                    'is not a valid profile name; add name = "…"',
                )
            )
            return None, c.issues
        values["name"] = stem
    values.setdefault("port", FACTS[engine].default_port)
    if values.get("runtime") == "docker" and "image" not in values:
        values["image"] = FACTS[engine].default_image
    known = {f.name for f in fields(Profile)}
    kwargs = {k: v for k, v in values.items() if k in known}
    path = Path(fname) if fname != "<profile>" else None
    return Profile(**kwargs, path=path), c.issues


def check_profile_file(path: str | os.PathLike[str]) -> tuple[Profile | None, list[ProfileIssue]]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [ProfileIssue(str(p), None, "no such file")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ProfileIssue(str(p), None, f"cannot read: {exc}")]
    return check_profile_text(text, p)
