"""`llmops up|down|ps|logs|swap`: engines, headless.

Exit codes: 0 done; 1 the engine failed (its root cause is printed); 2 refused
before launch (or bad arguments, or another llmops is launching/stopping that engine);
3 timed out waiting for ready; 4 no such engine or profile; 5 a stop left processes, the port or GPU memory held (each
named: pid, command, MiB).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
EXIT_TIMEOUT = 3
EXIT_NOT_FOUND = 4
EXIT_STOP_INCOMPLETE = 5


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("up", help="launch an engine from a profile")
    up.add_argument("profile", help="profile name or path to a .toml file")
    up.add_argument("--wait", action="store_true", help="wait until ready (or failed)")
    up.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait with --wait (900)"
    )
    up.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a profile field for this launch (TOML value: port=8001, "
        'gpus="0,1", gpu_memory_fraction=0.8); repeatable',
    )
    up.set_defaults(func=cmd_up)

    down = sub.add_parser("down", help="stop an engine and every process it started")
    target = down.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", help="engine name (its profile name)")
    target.add_argument("--all", action="store_true", help="stop every running engine")
    down.add_argument(
        "--grace",
        type=float,
        default=None,
        help="seconds from the stop signal to SIGKILL (20; 5 for an engine still loading)",
    )
    down.set_defaults(func=cmd_down)

    ps = sub.add_parser("ps", help="list engines (re-attaches to running ones)")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=cmd_ps)

    logs = sub.add_parser("logs", help="print an engine's log")
    logs.add_argument("name")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=50, help="last N lines (50)")
    logs.set_defaults(func=cmd_logs)

    swap = sub.add_parser(
        "swap",
        help="stop one engine, wait for its GPU memory to be freed, start another (both up "
        "with sleep_mode: sleep one, wake the other)",
    )
    swap.add_argument("from_name", metavar="FROM", help="running engine to stop")
    swap.add_argument("to_profile", metavar="TO", help="profile to start")
    swap.add_argument("--timeout", type=float, default=900.0)
    swap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    swap.set_defaults(func=cmd_swap)


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _load_profile(name: str, overrides: list[str]):
    """The profile with overrides applied, or an exit code after printing why."""
    from llmops_tui.profiles.overrides import apply_overrides
    from llmops_tui.profiles.profile import ProfileError
    from llmops_tui.profiles.store import ProfileNotFound, find_profile

    try:
        profile = find_profile(name)
    except ProfileNotFound as exc:
        _err(str(exc))
        return EXIT_NOT_FOUND
    except ProfileError as exc:
        _err(str(exc))
        return EXIT_REFUSED
    try:  # checked like the file's own fields (types, ranges, engine rules)
        return apply_overrides(profile, overrides)
    except ProfileError as exc:
        _err(str(exc))
        return EXIT_REFUSED


def _progress_printer():
    t0 = time.monotonic()

    def show(rec) -> None:
        _err(f"[{time.monotonic() - t0:6.1f}s] {rec.name}: {rec.phase}: {rec.progress or ''}")

    return show


def _print_failure(rec) -> None:
    from llmops_tui.supervisor.records import failure_line

    _err(failure_line(rec))
    _err(f"log: {rec.log_path}")


def cmd_up(args: argparse.Namespace) -> int:
    from llmops_tui.engines.base import LaunchRefused
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.records import EngineFailed

    profile = _load_profile(args.profile, args.overrides)
    if isinstance(profile, int):
        return profile
    sup = Supervisor()
    try:
        rec = sup.up(profile)
    except LaunchRefused as exc:
        _err(str(exc))
        return EXIT_REFUSED
    _err(f"started {rec.name} (pid {rec.pid}) on {rec.base_url}; log: {rec.log_path}")
    if not args.wait:
        return EXIT_OK
    try:
        rec = sup.wait_ready(rec.name, args.timeout, on_progress=_progress_printer())
    except EngineFailed as exc:
        _print_failure(exc.record)
        return EXIT_FAILED
    except TimeoutError as exc:
        _err(f"{exc}; it is still running: `llmops logs {rec.name}`, `llmops down {rec.name}`")
        return EXIT_TIMEOUT
    took = (rec.ready_at or time.time()) - rec.started_at
    print(f"{rec.name} ready on {rec.base_url} in {took:.1f} s (model {rec.served_model_name})")
    return EXIT_OK


def cmd_down(args: argparse.Namespace) -> int:
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.locks import EngineBusy
    from llmops_tui.supervisor.records import EngineNotFound

    sup = Supervisor()
    names = sup.running_names() if args.all else [args.name]
    if args.all and not names:
        print("no engine running")
        return EXIT_OK
    code = EXIT_OK
    for name in names:
        try:
            _rec, report = sup.stop(name, args.grace)
        except EngineNotFound as exc:
            _err(str(exc))
            code = code or EXIT_NOT_FOUND
            continue
        except EngineBusy as exc:
            _err(f"not stopping {name}: {exc}; try again once it is done")
            code = code or EXIT_REFUSED
            continue
        for note in report.notes:
            _err(note)
        if report.ok:
            print(report.summary())
        else:
            _err(report.summary())
            code = EXIT_STOP_INCOMPLETE
    return code


def _age(seconds: float) -> str:
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _leftovers(sup, recs, lost) -> tuple[dict[str, list[int]], dict[int, int] | None]:
    """Processes still running of engines that are stopped/failed (orphans), and NVML's
    per-process memory (None without NVML; read only when there is something to show)."""
    from llmops_tui.telemetry import gpu

    left = sup.leftovers(recs)
    usage = gpu.gpu_memory_by_pid() if left or any(x.pids for x in lost) else None
    return left, usage


def cmd_ps(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from llmops_tui.commands.sleep_cmd import gpu_held
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.stopcheck import describe

    sup = Supervisor()
    recs = sup.records()
    lost = sup.lost()
    left, usage = _leftovers(sup, recs, lost)
    held = gpu_held(sup, recs, only_sleeping=not args.json)  # MiB per engine (NVML)
    if args.json:
        out = []
        for r in recs:
            row = r.to_json()
            row["pids"] = sup.process_pids(r.name) if r.alive_phase else left.get(r.name, [])
            row["leftover"] = [asdict(p) for p in describe(left.get(r.name, []), usage)]
            row["gpu_mib"] = held.get(r.name)
            out.append(row)
        for x in lost:
            out.append(
                {
                    "name": x.name,
                    "phase": "unreadable" if x.state_file else "unrecorded",
                    "problem": x.reason,
                    "state_file": str(x.state_file) if x.state_file else None,
                    "port": x.port,
                    "pids": x.pids,
                    "leftover": [asdict(p) for p in describe(x.pids, usage)],
                }
            )
        print(json.dumps(out, indent=2))
        return EXIT_OK
    if not recs and not lost:
        print("no engines")
        return EXIT_OK
    now = time.time()
    rows = [("NAME", "ENGINE", "PHASE", "PID", "ADDRESS", "MODEL", "AGE", "DETAIL")]
    for r in recs:
        if r.phase == "failed":
            detail = r.root_cause or ""
        elif r.phase == "stopped":
            detail = ""
        else:
            detail = r.progress or ""
        if r.phase == "sleeping" and r.name in held:
            detail += f"; holds {held[r.name]:,} MiB of GPU memory"
        rows.append(
            (
                r.name,
                r.engine,
                r.phase,
                str(r.pid),
                r.base_url,
                r.served_model_name,
                _age(now - r.started_at),
                detail or "",
            )
        )
    if recs:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        by_name = {r.name: r for r in recs}
        for row in rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1])
            if row[0] in left:
                print(f"  ↳ {_still_running(row[0], left[row[0]], usage, by_name[row[0]])}")
    for x in lost:
        print(x.reason)
        if x.pids:
            print(f"  ↳ {_still_running(x.name, x.pids, usage, None)}")
        elif x.state_file:
            print(f"  ↳ {_nothing_found(x)}")
    return EXIT_OK


def _nothing_found(x) -> str:
    from llmops_tui.supervisor.health import port_owner
    from llmops_tui.supervisor.stopcheck import port_answers

    checked = "session, marker" + (f", port {x.port}" if x.port else "")
    if x.port and port_answers("127.0.0.1", x.port):
        who = port_owner(x.port) or "a process llmops cannot see"
        return (
            f"no process of {x.name} found by session or marker, but port {x.port} answers: {who}"
        )
    return f"nothing of {x.name} is running ({checked} checked)"


def _still_running(name: str, pids: list[int], usage, rec) -> str:
    from llmops_tui.supervisor.stopcheck import describe

    what = "still running"
    if rec is not None:
        what = f"still running after its main process (pid {rec.pid}) ended"
    procs = "; ".join(p.text() for p in describe(pids, usage))
    gpu = "" if usage is not None else " (no NVML: GPU memory not known)"
    return f"{len(pids)} process(es) {what}: {procs}{gpu} — `llmops down {name}` ends them"


def cmd_logs(args: argparse.Namespace) -> int:
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.records import LOG_FILE, EngineNotFound, RecordUnreadable

    sup = Supervisor()
    rec = None
    try:
        rec = sup.record(args.name)
        log_path = rec.log_path
    except RecordUnreadable as exc:
        _err(f"{exc}; printing its log without following the engine")
        log_path = str(sup.engine_dir(args.name) / LOG_FILE)
    except EngineNotFound as exc:
        _err(str(exc))
        return EXIT_NOT_FOUND
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
            for line in lines[-args.lines :] if args.lines > 0 else []:
                sys.stdout.write(line)
            sys.stdout.flush()
            while args.follow and rec is not None:
                line = f.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                    continue
                rec = sup.refresh(rec)
                if not rec.alive_phase:
                    rest = f.read()
                    sys.stdout.write(rest)
                    _err(f"-- {rec.name} is {rec.phase}")
                    break
                time.sleep(0.2)
    except FileNotFoundError:
        _err(f"{log_path}: no log yet")
        return EXIT_NOT_FOUND
    return EXIT_OK


def cmd_swap(args: argparse.Namespace) -> int:
    from llmops_tui.commands.sleep_cmd import resident_swap_cli

    code = resident_swap_cli(args.from_name, args.to_profile, args.overrides)  # sleep mode
    if code is not None:
        return code

    from llmops_tui.engines.base import LaunchRefused
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.supervisor.locks import EngineBusy
    from llmops_tui.supervisor.records import EngineFailed, EngineNotFound, StopIncomplete

    profile = _load_profile(args.to_profile, args.overrides)
    if isinstance(profile, int):
        return profile
    sup = Supervisor()
    t0 = time.monotonic()

    def stopped(report) -> None:
        for note in report.notes:
            _err(note)
        if report.ok:
            _err(report.summary())

    try:
        rec = sup.swap(
            args.from_name,
            profile,
            timeout=args.timeout,
            on_progress=_progress_printer(),
            on_stopped=stopped,
        )
    except EngineNotFound as exc:
        _err(str(exc))
        return EXIT_NOT_FOUND
    except StopIncomplete as exc:
        _err(f"not starting {profile.name}: {exc}")
        return EXIT_STOP_INCOMPLETE
    except (LaunchRefused, EngineBusy) as exc:
        _err(str(exc))
        return EXIT_REFUSED
    except EngineFailed as exc:
        _print_failure(exc.record)
        return EXIT_FAILED
    except TimeoutError as exc:
        _err(str(exc))
        return EXIT_TIMEOUT
    print(
        f"swapped {args.from_name} → {rec.name} in {time.monotonic() - t0:.1f} s: "
        f"ready on {rec.base_url}"
    )
    return EXIT_OK
