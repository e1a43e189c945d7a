"""Telemetry: GPUs over NVML, host CPU/RAM, engine Prometheus metrics, history.

Nothing here imports Textual; every source is usable from the headless CLI and
from tests. ``EngineTarget`` is what the supervisor (or ``--url``) hands in.
"""

from __future__ import annotations

from llmops_tui.telemetry.targets import EngineTarget

__all__ = ["EngineTarget"]
