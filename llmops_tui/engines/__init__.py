"""Engine adapters: Profile → launch spec, readiness rules, log patterns, metric names.

Engines are separate processes: nothing here imports vLLM, SGLang or TGI.
Each adapter module has ``build_launch(profile, environ=None, state_dir=None)``
returning a :class:`~llmops_tui.engines.base.LaunchSpec` and ``LOG_RULES``
(an :class:`~llmops_tui.engines.logs.EngineLogRules`).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from llmops_tui.engines.facts import ENGINES


def adapter(engine: str) -> ModuleType:
    """The adapter module of an engine name (vllm, sglang, tgi)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return importlib.import_module(f"llmops_tui.engines.{engine}")
