"""`llmops bench` (run a load test), `llmops bench runs`, `llmops bench compare ID ID…`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from llmops_tui.commands.argtypes import add_target_flags
from llmops_tui.commands.argtypes import positive_int as _positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench",
        help="load-test an OpenAI-compatible server (results kept in results.db)",
        description="Load-test a running engine. Metrics follow `vllm bench serve`. "
        "Every run is stored; Ctrl-C, SIGTERM or SIGHUP stop early and keep the run, marked "
        "partial. If results.db cannot take a run, it is kept in a file (llmops bench import). "
        "Exit status: 0 done, 1 no request completed, 2 bad arguments, 3 partial run, "
        "4 the run (or --json/--csv) could not be written where asked (the message says where "
        "it went).",
    )
    bsub = p.add_subparsers(dest="bench_command", metavar="ACTION")
    runs = bsub.add_parser("runs", help="list stored runs")
    runs.add_argument("--limit", type=_positive_int, default=30)
    runs.add_argument("--json", action="store_true", help="machine-readable output")
    runs.set_defaults(func=cmd_runs)
    cmp_ = bsub.add_parser("compare", help="compare stored runs side by side")
    cmp_.add_argument("ids", nargs="+", type=_positive_int, metavar="ID")
    cmp_.set_defaults(func=cmd_compare)
    show = bsub.add_parser("show", help="print one stored run's summary")
    show.add_argument("id", type=_positive_int, metavar="ID")
    show.set_defaults(func=cmd_show)
    imp = bsub.add_parser(
        "import", help="store runs kept in files when results.db could not take them"
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.set_defaults(func=cmd_import)
    from llmops_tui.commands import sweep_cmd

    sweep_cmd.register(bsub)

    add_target_flags(p)
    # Values below are taken as typed and checked by the plan builder (bench/plan.py), the
    # Load test tab's checks too: a bad one is reported as `--flag: message`, exit status 2.
    w = p.add_argument_group("workload")
    from llmops_tui.bench.workload import SCENARIOS  # plain data, no heavy imports

    w.add_argument(
        "--scenario",
        choices=tuple(SCENARIOS),
        help="preset workload and concurrency (explicit options win)",
    )
    w.add_argument("--dataset", choices=("random", "shared-prefix"), help="(default random)")
    w.add_argument("--num-requests", metavar="N")
    w.add_argument("--input-len", metavar="N")
    w.add_argument("--output-len", metavar="N")
    w.add_argument("--range-ratio", metavar="R", help="length spread, in [0, 1) (default 0)")
    w.add_argument("--ignore-eos", action="store_true", help="generate exactly --output-len tokens")
    w.add_argument("--num-prefixes", metavar="N", help="shared-prefix: N (default 4)")
    w.add_argument("--prefix-len", metavar="N", help="shared-prefix length (default input/2)")
    w.add_argument("--tokenizer", help="local tokenizer.json, model folder or cached repo id")
    w.add_argument("--seed", metavar="N", help="(default 0)")
    ld = p.add_argument_group("load")
    ld.add_argument("--concurrency", metavar="N", help="max in flight (default ∞)")
    ld.add_argument("--request-rate", metavar="R", help="req/s (default inf: all at once)")
    ld.add_argument("--burstiness", metavar="B", help="1 = Poisson (default)")
    ld.add_argument("--constant-rate", action="store_true", help="evenly spaced arrivals")
    ld.add_argument("--duration", metavar="S", help="seconds")
    ld.add_argument("--warmup", metavar="N", help="requests sent first, not counted (default 0)")
    ld.add_argument("--timeout", metavar="S", help="per request, seconds (600)")
    g = p.add_argument_group("goodput SLOs (ms)")
    g.add_argument("--slo-ttft", metavar="MS")
    g.add_argument("--slo-tpot", metavar="MS")
    g.add_argument("--slo-e2el", metavar="MS")
    o = p.add_argument_group("output")
    o.add_argument("--json", type=Path, metavar="PATH", help="write summary/requests/workload")
    o.add_argument("--csv", type=Path, metavar="PATH", help="write one row per request")
    o.add_argument("--label", default="", help="a note stored with the run")
    o.add_argument("--no-save", action="store_true", help="do not store the run")
    o.add_argument("--quiet", action="store_true", help="no progress line")
    o.add_argument(
        "--no-telemetry", action="store_true", help="do not sample the engine's /metrics and GPUs"
    )
    p.set_defaults(func=cmd_bench, _parser=p)


def _fail(msg: str) -> int:
    print(f"llmops bench: {msg}", file=sys.stderr)
    return 2


def _say(text: str = "", err: bool = False) -> None:
    """Print, even when the terminal is gone (SIGHUP: the SSH link dropped): then say nothing."""
    stream = sys.stderr if err else sys.stdout
    try:
        print(text, file=stream, flush=True)
    except OSError:
        try:  # nothing can reach the terminal; spare the interpreter a failed flush at exit
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            pass


def plan_from_args(args: argparse.Namespace):
    """The run's plan from the flags (each is the builder's field of the same name; --scenario
    is the preset), or the field errors: the Load test form's values go the same way."""
    from llmops_tui.bench.plan import FIELDS, build_plan

    return build_plan({f: getattr(args, f) for f in FIELDS}, preset=args.scenario)


def cmd_bench(args: argparse.Namespace) -> int:
    import asyncio

    from llmops_tui.bench.fallback import check_output_path
    from llmops_tui.bench.report import format_summary, write_csv
    from llmops_tui.bench.session import Stop, execute, resolve_tokenizer
    from llmops_tui.bench.store import ResultStore
    from llmops_tui.bench.workload import TokenizerError, build_workload
    from llmops_tui.config import paths

    plan = plan_from_args(args)
    if isinstance(plan, list):
        for e in plan:
            _fail(e.as_flag())
        return 2
    if args.json and args.csv and args.json.resolve() == args.csv.resolve():
        return _fail(f"--json and --csv name the same file {args.json}")
    for flag, path in (("--json", args.json), ("--csv", args.csv)):
        problem = check_output_path(path, flag) if path else None
        if problem:
            return _fail(problem)  # before any request is sent
    target, spec, shape = plan.target, plan.spec, plan.shape
    from llmops_tui.bench.session import asleep_problem

    asleep = asleep_problem(target.base_url)  # a sleeping engine would hold every request
    if asleep:
        print(f"llmops bench: {asleep}", file=sys.stderr)
        return 1
    try:
        tokenizer = resolve_tokenizer(spec, target)
    except TokenizerError as exc:
        return _fail(str(exc))
    workload = build_workload(spec, tokenizer)
    store = None if args.no_save else ResultStore(paths().results_db)
    try:
        from llmops_tui.client.http import StreamClient

        StreamClient(target.base_url)
    except Exception as exc:
        return _fail(str(exc))

    show_progress = not args.quiet and sys.stderr.isatty()
    print(
        f"bench {target.base_url} model={target.model} endpoint={spec.endpoint} "
        f"requests={'∞' if shape.duration_s else spec.num_requests} "
        f"in={spec.input_len} out={spec.output_len} "
        f"({'exact, ' + workload.tokenizer_name if workload.exact else 'approximate lengths'})",
        file=sys.stderr,
    )

    def on_record(rec, progress) -> None:
        nonlocal show_progress
        if show_progress:
            total = progress.total or "?"
            try:
                print(
                    f"\r{progress.done}/{total} done, {progress.failed} failed, "
                    f"{progress.in_flight} in flight",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )
            except OSError:  # the terminal is gone
                show_progress = False

    async def main():
        import signal

        stop = Stop()
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            stop.set()
            _say("\nstopping: keeping what finished (Ctrl-C again to quit)", err=True)

        def on_signal(signum: int) -> None:
            # SIGTERM (kill, systemd, a job scheduler) or SIGHUP (the SSH link dropped): keep
            # the run like a first Ctrl-C; a repeat changes nothing, the stop is under way.
            name = signal.Signals(signum).name
            if not stop.is_set():
                stop.request(f"stopped by {name}")
                _say(f"\n{name}: stopping, keeping what finished", err=True)

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError):
            pass
        return await execute(
            target,
            spec,
            shape,
            tokenizer=tokenizer,
            slo=plan.slo,
            stop=stop,
            on_record=on_record,
            store=store,
            label=plan.label,
            workload=workload,
            timeout=plan.timeout,
            telemetry=not args.no_telemetry,
        )

    from llmops_tui.bench.eventloop import run as run_loop

    outcome = run_loop(main())
    if show_progress:
        _say(err=True)
    # The files first: with the terminal gone (SIGHUP) they are what is left of the run.
    not_written = []
    for flag, path, write in (
        (
            "--json",
            args.json,
            lambda p: p.write_text(json.dumps(outcome.report, indent=1, default=str)),
        ),
        ("--csv", args.csv, lambda p: write_csv(p, outcome.requests)),
    ):
        if path is None:
            continue
        try:
            write(path)
        except OSError as exc:
            not_written.append(f"could not write {flag} {path}: {exc}")
    status = "partial: " + (outcome.result.reason or "") if outcome.result.partial else ""
    extra = list(workload.notes)
    if outcome.saved is not None:
        extra += outcome.saved.lines(paths().results_db)
    _say(format_summary(outcome.summary, status=status, extra=extra))
    for line in not_written:
        _say(f"llmops bench: {line}", err=True)
    if outcome.summary["completed"] == 0:
        return 1
    if not_written or (outcome.saved is not None and not outcome.saved.stored):
        return 4
    return 3 if outcome.result.partial else 0


def _read_store(what):
    """``what(store)``, or (None, exit code) after saying why the database cannot be read."""
    from llmops_tui.bench.fallback import store_problem
    from llmops_tui.bench.store import ResultStore
    from llmops_tui.config import paths

    store = ResultStore(paths().results_db)
    try:
        return what(store), None
    except Exception as exc:  # corrupt, not a database, a folder, locked, newer schema
        print(f"llmops bench: {store_problem(store.path, exc)}", file=sys.stderr)
        return None, 1


def cmd_runs(args: argparse.Namespace) -> int:
    import time

    from llmops_tui.bench.fallback import kept_runs_note
    from llmops_tui.config import paths

    runs, rc = _read_store(lambda st: st.list_runs(limit=args.limit))
    note = kept_runs_note(paths().results_db)
    if note:
        print(note, file=sys.stderr)
    if runs is None:
        return rc
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": r.id,
                        "created_at": r.created_at,
                        "status": r.status,
                        "reason": r.reason,
                        "label": r.label,
                        "target": r.target,
                        "workload": r.workload,
                        "load": r.load,
                        "summary": r.summary,
                    }
                    for r in runs
                ],
                indent=1,
            )
        )
        return 0
    if not runs:
        print(f"no runs stored in {paths().results_db}")
        return 0
    header = [
        "ID",
        "WHEN",
        "STATUS",
        "MODEL",
        "ENDPOINT",
        "IN/OUT",
        "CONC",
        "OK/FAIL",
        "OUT TOK/S",
        "TTFT P50",
    ]
    rows = []
    for r in runs:
        s = r.summary
        rows.append(
            [
                str(r.id),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
                r.status,
                str(r.target.get("model")),
                str(r.workload.get("endpoint")),
                f"{r.workload.get('input_len')}/{r.workload.get('output_len')}",
                str(r.load.get("concurrency") or "∞"),
                f"{s.get('completed')}/{s.get('failed')}",
                f"{s.get('output_throughput', 0):.1f}",
                f"{(s.get('ttft_ms') or {}).get('p50', float('nan')):.1f} ms",
            ]
        )
    widths = [max(len(x[i]) for x in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from llmops_tui.bench.report import compare_rows, format_table

    got, rc = _read_store(lambda st: [(i, st.get(i)) for i in args.ids])
    if got is None:
        return rc
    runs, missing = [], []
    for i, run in got:
        (runs if run else missing).append(run or i)
    if missing:
        return _fail(
            f"no stored run with id {', '.join(map(str, missing))} (see `llmops bench runs`)"
        )
    print(format_table(*compare_rows(runs)))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from llmops_tui.bench.report import format_summary

    run, rc = _read_store(lambda st: st.get(args.id))
    if rc is not None:
        return rc
    if run is None:
        return _fail(f"no stored run with id {args.id} (see `llmops bench runs`)")
    status = f"partial: {run.reason}" if run.partial else "complete"
    print(format_summary(run.summary, status=status))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    """Store kept run files; each one stored is removed (the database has it now)."""
    from llmops_tui.bench.fallback import load_kept_run

    failed = 0
    for path in args.files:
        try:
            run = load_kept_run(path)
        except (OSError, ValueError) as exc:
            print(f"llmops bench import: {path}: {exc}", file=sys.stderr)
            failed += 1
            continue
        run_id, rc = _read_store(lambda st, run=run: st.save(**run))
        if run_id is None:
            print(f"llmops bench import: {path} kept as it is", file=sys.stderr)
            return rc
        try:
            path.unlink()
            gone = f"; removed {path}"
        except OSError as exc:
            gone = f"; could not remove {path} ({exc}): do not import it twice"
        print(f"{path}: stored as run #{run_id}{gone}")
    return 1 if failed else 0
