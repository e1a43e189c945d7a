"""`llmops bakeoff PROFILE... [--suite NAME|PATH] [--out DIR]`: the same suite on each engine in turn."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmops_tui.commands.argtypes import positive_float


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bakeoff",
        help="benchmark several engine profiles one after the other with a suite",
        description="For each profile in turn: launch, wait ready, warm up, run the suite's "
        "scenarios (GPU memory and KV usage sampled), stop and wait for GPU memory to be "
        "freed. An engine that fails is recorded and the next one runs. Runs are stored in "
        "results.db (if it cannot take them, they are kept in files and the command says where, "
        "exit status 4). Ctrl-C stops the running engine and writes the partial report.",
    )
    p.add_argument("profiles", nargs="+", metavar="PROFILE", help="profile names or .toml files")
    p.add_argument(
        "--suite",
        default="standard",
        help="suite name (built-in: standard, tiny; or <config>/suites/NAME.toml) or a .toml path",
    )
    p.add_argument("--out", type=Path, metavar="DIR", help="write bakeoff.md, .csv and .json here")
    p.add_argument(
        "--ready-timeout",
        type=positive_float,
        default=900.0,
        help="seconds to wait for each engine (900)",
    )
    p.add_argument("--no-save", action="store_true", help="do not store runs in results.db")
    p.add_argument("--no-color", action="store_true", help="mark best values with * only")
    p.set_defaults(func=cmd_bakeoff)


def _fail(msg: str) -> int:
    print(f"llmops bakeoff: {msg}", file=sys.stderr)
    return 2


def cmd_bakeoff(args: argparse.Namespace) -> int:
    from llmops_tui.bench.bakeoff import Bakeoff
    from llmops_tui.bench.bakeoff_report import format_report, write_report_files
    from llmops_tui.bench.eventloop import run as run_loop
    from llmops_tui.bench.store import ResultStore
    from llmops_tui.bench.suite import SuiteError, SuiteNotFound, find_suite
    from llmops_tui.config import paths
    from llmops_tui.profiles.profile import ProfileError
    from llmops_tui.profiles.store import ProfileNotFound, find_profile

    try:
        suite = find_suite(args.suite)
    except (SuiteError, SuiteNotFound) as exc:
        return _fail(str(exc))
    profiles, problems = [], []
    for name in args.profiles:
        try:
            profiles.append(find_profile(name))
        except (ProfileError, ProfileNotFound) as exc:
            problems.append(str(exc))
    names = [p.name for p in profiles]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(f"profile(s) given twice: {', '.join(dupes)}")
    if problems:
        return _fail("\n".join(problems))
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out}: exists and is not a folder")

    store = None if args.no_save else ResultStore(paths().results_db)

    def on_event(msg: str) -> None:
        print(f"[bakeoff] {msg}", file=sys.stderr, flush=True)

    async def main():
        import asyncio
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            if stop.is_set():
                print("\nstill stopping the engine; please wait", file=sys.stderr)
                return
            print(
                "\nstopping: the running engine is being stopped; what is done is kept",
                file=sys.stderr,
            )
            stop.set()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (NotImplementedError, RuntimeError):
            pass
        bake = Bakeoff(
            profiles,
            suite,
            store=store,
            on_event=on_event,
            stop=stop,
            ready_timeout=args.ready_timeout,
        )
        return await bake.run()

    on_event(f"suite '{suite.name}' ({len(suite.scenarios)} scenarios) on {', '.join(names)}")
    result = run_loop(main())
    color = not args.no_color and sys.stdout.isatty()
    print(format_report(result, color=color))
    if args.out is not None:
        files = write_report_files(result, args.out)
        print("\nreport files: " + ", ".join(str(f) for f in files.values()))
    if result.id is not None and result.store_problem is None:
        print(f"stored as bake-off #{result.id} in {paths().results_db}")
    elif store is not None:  # results.db could not take it: keep the bake-off in a file
        from llmops_tui.bench.fallback import keep_run

        print(f"bake-off NOT stored in the results database: {result.store_problem}")
        try:
            kept = keep_run(
                {"created_at": result.started_at, **result.to_dict()}, store.path, "bakeoff"
            )
            print(f"the bake-off's result is kept in {kept} (owner-only)")
        except OSError as exc:
            print(f"could not keep the bake-off's result in a file either: {exc}")
        for e in result.engines:
            for sc in e.scenarios:
                if sc.kept_in:
                    print(f"  {e.profile} {sc.scenario}: run kept in {sc.kept_in}")
        return 4
    if result.partial:
        return 3
    return 0 if all(e.status == "ok" for e in result.engines) else 1
