"""Every launch line an adapter can build, generated from the profile fields' values.

For one engine: quantization × KV-cache dtype in full (with every dtype in turn), every
parallel layout (TP × PP × DP where the engine has them) × runtime (native, docker) ×
host, and each other field's values (fractions as written, lengths, counts, names,
revision, trust_remote_code, hosts, ports, local and Hub models, extra_args) in both
runtimes. Values come from the app's own lists (engines/facts.py), so a value the app
accepts but the engine refuses is a failing case. Each case is a profile's TOML text,
parsed and validated as `llmops profiles check` would; a text the check refuses is left
out (it never launches) and counted in ``refused``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from llmops_tui.engines.facts import FACTS
from llmops_tui.profiles.profile import Profile, ProfileError
from llmops_tui.profiles.validation import parse_profile

HOSTS = ("127.0.0.1", "0.0.0.0", "::1", "localhost")
FRACTIONS = (0.9, 0.123456789, 1.0, 1e-05, 0.5)
PYTHON = "/opt/engines/bin/python"


@dataclass(frozen=True)
class Case:
    id: str
    profile: Profile


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _profile_text(engine: str, fields: dict) -> str:
    body = {"name": "contract", "engine": engine, "model": "org/model", **fields}
    return "".join(f"{k} = {_toml(v)}\n" for k, v in body.items() if v is not None)


def field_sets(engine: str, python: str = PYTHON) -> list[dict]:
    facts = FACTS[engine]
    sets: list[dict] = []
    quants = [None, *sorted(facts.quantization)]
    kvs = [None, *sorted(facts.kv_cache_dtype)]
    dtypes = [None, *sorted(facts.dtype)]
    # (getattr: the same matrix runs against older app code, to show what it missed)
    deprecated = getattr(facts, "deprecated_quantization", frozenset())
    for i, (q, kv) in enumerate(itertools.product(quants, kvs)):
        dtype = dtypes[i % len(dtypes)]
        if engine == "tgi" and q and dtype:  # TGI: --dtype cannot be used with --quantize
            dtype = None
        sets.append({"quantization": q, "kv_cache_dtype": kv, "dtype": dtype})
    for q in sorted(deprecated):  # the engine's own override flag makes them launchable
        sets.append({"quantization": q, "extra_args": [facts.deprecated_flag]})
    for dtype in dtypes:
        sets.append({"dtype": dtype})
    tps = (1, 2, 8)
    pps = (1, 2) if facts.pipeline_parallel else (1,)
    dps = (1, 2) if facts.data_parallel else (1,)
    for n, (tp, pp, dp, runtime) in enumerate(
        itertools.product(tps, pps, dps, ("native", "docker"))
    ):
        sets.append({
            "tensor_parallel": tp, "pipeline_parallel": pp, "data_parallel": dp,
            "runtime": runtime, "host": HOSTS[n % len(HOSTS)],
        })  # fmt: skip
    others: dict[str, tuple] = {
        "gpu_memory_fraction": FRACTIONS,
        "max_model_len": (1, 8192, 131072),
        "revision": ("main", "0123456789abcdef0123456789abcdef01234567"),
        "trust_remote_code": (True, False),
        "host": HOSTS,
        "port": (1024, 8080, 65535),
        "model": ("org/model", "/models/Llama-3.1-8B", "~/models/tiny llama"),
        "gpus": ("0", "0,1"),
    }
    if facts.max_num_seqs:
        others["max_num_seqs"] = (1, 256)
    if facts.served_model_name:
        others["served_model_name"] = ("my-model", "org/served")
    for runtime in ("native", "docker"):
        for key, values in others.items():
            for v in values:
                sets.append({key: v, "runtime": runtime})
        # Everything at once, with the engine's interpreter named (native) or an image.
        sets.append({
            "runtime": runtime, "quantization": sorted(facts.quantization - deprecated)[0],
            "kv_cache_dtype": sorted(facts.kv_cache_dtype)[-1], "tensor_parallel": 2,
            "gpu_memory_fraction": 0.87654321, "max_model_len": 4096, "revision": "v1",
            "trust_remote_code": True, "port": 18000, "gpus": "0,1",
            "served_model_name": "all" if facts.served_model_name else None,
            "max_num_seqs": 64 if facts.max_num_seqs else None,
        })  # fmt: skip
    # The native forms: the engine's interpreter (python = …) and the default executable.
    for s in sets:
        if s.get("runtime", "native") == "native" and engine != "tgi":
            s.setdefault("python", python)
    sets.append({"runtime": "native"})
    return sets


def cases(engine: str, python: str = PYTHON) -> tuple[list[Case], int]:
    """(cases, how many generated texts `profiles check` refused)."""
    out: list[Case] = []
    refused = 0
    seen: set[str] = set()
    for n, fields in enumerate(field_sets(engine, python)):
        text = _profile_text(engine, fields)
        if text in seen:
            continue
        seen.add(text)
        try:
            profile = parse_profile(text, f"{engine}-{n}.toml")
        except ProfileError:
            refused += 1
            continue
        label = ",".join(f"{k}={v}" for k, v in fields.items() if v is not None) or "defaults"
        out.append(Case(f"{engine}-{n}[{label}]", profile))
    return out, refused
