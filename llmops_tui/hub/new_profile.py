"""A new launch profile from a model, and saving it."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path


def profile_for_model(
    engine: str,
    repo_id: str,
    *,
    tensor_parallel: int = 1,
    quantization: str | None = None,
    gated: bool | str | None = None,
    max_model_len: int | None = None,
    revision: str | None = None,
):
    """A pre-filled Profile for ``engine`` serving ``repo_id`` (validated by the caller's save).

    vLLM and SGLang read the quantization from config.json, so it is only set
    for TGI (which needs ``--quantize``) and only to a value TGI accepts.
    Gated or private models get ``HF_TOKEN = "$HF_TOKEN"`` (passed through from
    the environment, never written).
    """
    from llmops_tui.engines.facts import FACTS
    from llmops_tui.profiles.profile import Profile

    facts = FACTS[engine]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", repo_id.split("/")[-1]).strip("-.").lower()
    name = f"{engine}-{slug}"[:60] + (f"-tp{tensor_parallel}" if tensor_parallel > 1 else "")
    quant = None
    if engine == "tgi" and quantization:
        base = quantization.split()[0].replace("auto_", "")
        quant = base if base in facts.quantization else None
    env = {"HF_TOKEN": "$HF_TOKEN"} if gated else {}
    return Profile(
        name=name,
        engine=engine,
        model=repo_id,
        revision=revision,
        port=facts.default_port,
        tensor_parallel=tensor_parallel,
        quantization=quant,
        max_model_len=max_model_len,
        env=env,
        description=f"{repo_id} on {facts.label} (made from the Models tab)",
    )


def save_new_profile(profile, directory: Path | None = None) -> Path:
    """Save to the user's profile folder; never overwrites (adds -2, -3, …)."""
    from llmops_tui.config import paths
    from llmops_tui.profiles.store import save_profile

    d = directory or paths().user_profiles
    base = profile.name
    path = d / f"{base}.toml"
    n = 2
    while path.exists():
        profile = replace(profile, name=f"{base}-{n}")
        path = d / f"{profile.name}.toml"
        n += 1
    return save_profile(profile, path)
