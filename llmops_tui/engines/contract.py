"""What every engine adapter provides: the :class:`EngineAdapter` protocol.

An adapter is a module (``engines/vllm.py``, ``sglang.py``, ``tgi.py``) registered by name in
``llmops_tui.engines.ADAPTERS``; :func:`llmops_tui.engines.adapter` imports it on first use
and returns it typed as this protocol, so a reader (or a type checker) can follow a profile
from its TOML to the engine's argv. ``tests/unit/test_engine_contract.py`` checks that every
registered adapter has each member, with these parameters.

The metric maps (which ``/metrics`` names are read and how they become the Monitor's numbers)
stay in ``llmops_tui/telemetry/scrape/engine_maps.py``, keyed by the same engine names: they
also read engines llmops did not start, found by their metric names; the same test checks that
each registered engine has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from llmops_tui.engines.base import LaunchSpec
    from llmops_tui.engines.logs import EngineLogRules
    from llmops_tui.engines.sleep import SleepApi
    from llmops_tui.profiles.profile import Profile


@runtime_checkable
class EngineAdapter(Protocol):
    """One engine: Profile → launch, the log lines that tell its progress, its sleep mode."""

    # Read-only members (a module's constants satisfy them; mypy checks it, see the test).

    @property
    def FLAGS(self) -> Mapping[str, str]:
        """The engine's flag for each profile field it has (keys from base.FLAG_FIELDS; a
        field left out is one the engine does not have, and profile validation refuses it)."""
        ...

    @property
    def LOG_RULES(self) -> EngineLogRules:
        """Progress, readiness and failure lines of the engine's log (the supervisor's
        LogWatch)."""
        ...

    @property
    def SLEEP(self) -> SleepApi | None:
        """How it gives back its GPU memory and takes it again; None: it cannot sleep."""
        ...

    def build_launch(
        self,
        profile: Profile,
        environ: dict[str, str] | None = None,
        state_dir: Path | None = None,
    ) -> LaunchSpec:
        """argv, env, address and readiness rules of the profile's engine (raises
        ``base.LaunchRefused`` with the reason when the launch must not happen)."""
        ...

    def model_arg(self, profile: Profile) -> str:
        """The model as the engine process is given it: a local path with ``~`` and ``$VAR``
        expanded, else the Hub repo id as written."""
        ...
