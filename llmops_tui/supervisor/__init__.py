"""Start, watch, stop and re-attach engine processes (no Textual here).

Each engine runs in its own process session (``start_new_session=True``) so that
closing the TUI, losing SSH or killing ``llmops`` leaves it serving. Per engine,
``<state>/engines/<name>/`` holds ``engine.log`` (stdout+stderr of the engine) and
``state.json`` (an :class:`EngineRecord`). A later ``llmops`` re-attaches by
checking pid + process start time + the session the app created + the
``LLMOPS_ENGINE`` marker in the engine's environment (``identity``), never the
command line (an exec wrapper or ``vllm serve`` changes it): a pid that now belongs
to another program is never trusted, never signalled.

Phases: ``starting → loading → ready → stopping → stopped``, or ``failed`` (with
the root-cause line pulled out of the log by the engine's :class:`EngineLogRules`).

Stopping: the engine's stop signal to its process group, a grace period, then
SIGKILL to every process of the tree and session that is left (psutil), then a
check that all are gone, that the port is free and (where NVML works) that no
process of ours still holds GPU memory.

The API is synchronous; :class:`AsyncSupervisor` wraps it for asyncio callers.

Modules: ``records`` (EngineRecord, phases, errors), ``core`` (Supervisor,
AsyncSupervisor), ``preflight`` (refusal reasons), ``health`` (ports, readiness
probe), ``logtail`` (reading the log into phases), ``proctree`` (the process tree,
stopping it, GPU memory release).

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
