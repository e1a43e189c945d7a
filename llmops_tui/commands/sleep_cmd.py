"""`llmops sleep|wake NAME` and the sleep-mode path of `llmops swap A B`.

Engines launched with ``sleep_mode = true`` stay resident while asleep (weights in host memory,
KV cache freed). ``swap A B`` with both up is then a sleep and a wake, each step's time printed.
Exit codes as engines_cmd: 0 done; 1 the engine refused or did not answer; 4 no such engine.
"""

from __future__ import annotations

import argparse
import sys
import time

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_NOT_FOUND = 0, 1, 2, 4


def register(sub: argparse._SubParsersAction) -> None:
    for verb, helptext in (
        ("sleep", "put a sleep-mode engine to sleep (its GPU memory freed, it stays resident)"),
        ("wake", "wake a sleeping engine (its weights back on the GPU)"),
    ):
        p = sub.add_parser(verb, help=helptext, description=helptext)
        p.add_argument("name", help="engine name (its profile name)")
        p.set_defaults(func=cmd_sleep if verb == "sleep" else cmd_wake)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _mib(sup, name: str) -> str:
    from llmops_tui.supervisor.sleep import gpu_mib_of

    mib = gpu_mib_of(sup, name)
    return "GPU memory: no NVML" if mib is None else f"holds {mib:,} MiB of GPU memory"


def gpu_held(sup, recs, only_sleeping: bool = False) -> dict[str, int]:
    """MiB of GPU memory each alive engine's processes hold (one NVML read); {} without NVML.

    ``only_sleeping``: read nothing unless an engine is asleep (plain ``ps`` shows the memory
    of sleeping engines only: what they keep is the point of sleep mode)."""
    alive = [r for r in recs if r.alive_phase]
    if not alive or (only_sleeping and not any(r.phase == "sleeping" for r in alive)):
        return {}
    from llmops_tui.telemetry.gpu import gpu_memory_by_pid

    usage = gpu_memory_by_pid()
    if usage is None:
        return {}
    return {
        r.name: sum(usage.get(p, 0) for p in sup.process_pids(r.name)) // (1024 * 1024)
        for r in alive
    }


def _set(name: str, asleep: bool) -> int:
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.records import EngineNotFound
    from llmops_tui.supervisor.sleep import SleepError, set_asleep

    sup = Supervisor()
    try:
        step = set_asleep(sup, name, asleep)
    except EngineNotFound as exc:
        _err(str(exc))
        return EXIT_NOT_FOUND
    except SleepError as exc:
        _err(str(exc))
        return EXIT_FAILED
    state = "asleep" if asleep else "awake"
    if step.detail.startswith("already"):
        print(f"{name} is {step.detail[len('already ') :]} already ({_mib(sup, name)})")
    else:
        print(f"{name} {state} in {step.seconds:.2f} s ({_mib(sup, name)})")
    return EXIT_OK


def cmd_sleep(args: argparse.Namespace) -> int:
    return _set(args.name, True)


def cmd_wake(args: argparse.Namespace) -> int:
    return _set(args.name, False)


def resident_swap_cli(from_name: str, to_name: str, overrides: list[str]) -> int | None:
    """``swap`` by sleep and wake when both engines are up and able to sleep; None otherwise
    (the caller stops A and starts B)."""
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.sleep import SleepError, can_swap_resident, resident_swap

    t0 = time.monotonic()
    sup = Supervisor()
    if not can_swap_resident(sup, from_name, to_name):
        return None
    if overrides:
        _err(f"{to_name} is already up (asleep or serving): --set applies only to a launch")
        return EXIT_REFUSED
    try:
        report = resident_swap(sup, from_name, to_name)
    except SleepError as exc:
        _err(str(exc))
        return EXIT_FAILED
    for step in report.steps:
        extra = f" ({step.detail})" if step.detail.startswith("already") else ""
        _err(f"  {step.what}: {step.seconds:.3f} s{extra}")
    rec = report.record
    where = rec.base_url if rec is not None else "?"
    print(
        f"swapped {from_name} → {to_name} in {time.monotonic() - t0:.2f} s "
        f"(engine calls {report.engine_seconds:.3f} s): {to_name} awake on {where}; "
        f"{from_name} asleep, {_mib(sup, from_name)}"
    )
    return EXIT_OK
