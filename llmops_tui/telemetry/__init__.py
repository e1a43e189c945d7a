"""Telemetry: GPUs over NVML, host CPU/RAM, engine Prometheus metrics, history.

Nothing here imports Textual; every source is usable from the headless CLI and
from tests. ``EngineTarget`` is what the supervisor (or ``--url``) hands in.

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
