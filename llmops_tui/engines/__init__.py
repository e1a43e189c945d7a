"""Engine adapters: Profile → launch spec, readiness rules, log patterns, sleep calls.

Engines are separate processes: nothing here imports vLLM, SGLang or TGI. ``ADAPTERS`` is the
registry (engine name → adapter module, imported on first use so that start-up stays light);
what each adapter provides is the :class:`~llmops_tui.engines.contract.EngineAdapter` protocol.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from llmops_tui.engines.contract import EngineAdapter

# Engine name → the module implementing EngineAdapter for it (same names, same order as
# engines.facts.ENGINES; tests/unit/test_engine_contract.py checks both).
ADAPTERS: dict[str, str] = {
    "vllm": "llmops_tui.engines.vllm",
    "sglang": "llmops_tui.engines.sglang",
    "tgi": "llmops_tui.engines.tgi",
}


def adapter(engine: str) -> EngineAdapter:
    """The adapter of an engine name (vllm, sglang, tgi)."""
    module = ADAPTERS.get(engine)
    if module is None:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ADAPTERS)}")
    return cast("EngineAdapter", importlib.import_module(module))
