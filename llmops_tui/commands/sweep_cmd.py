"""`llmops bench sweep`: load steps over concurrency or request rate until the server saturates;
with SLOs, the highest load meeting them. Registered under `llmops bench` (bench_cmd)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _loads(text: str) -> list[float]:
    try:
        xs = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas (e.g. 1,2,4,8), got {text!r}"
        ) from None
    if not xs or any(not x > 0 for x in xs):
        raise argparse.ArgumentTypeError(f"expected numbers > 0, got {text!r}")
    return xs


def register(bsub: argparse._SubParsersAction) -> None:
    from llmops_tui.commands.argtypes import add_target_flags, positive_float, positive_int

    p = bsub.add_parser(
        "sweep",
        help="load steps until the server saturates; the highest load meeting SLOs",
        description="One load test per step over concurrency (default) or request rate: a "
        "list, or a ladder that doubles from --start to --max. Stops when the server "
        "saturates (throughput stops rising while TTFT or the engine's queue keeps rising) "
        "or too many requests fail. Each step is a stored run; --out writes sweep.md, "
        "sweep.json and sweep.svg.",
    )
    add_target_flags(p)
    w = p.add_argument_group("workload (each step)")
    w.add_argument("--input-len", type=positive_int, required=True)
    w.add_argument("--output-len", type=positive_int, required=True)
    w.add_argument("--ignore-eos", action="store_true", help="generate exactly --output-len")
    w.add_argument("--tokenizer", help="local tokenizer.json, model folder or cached repo id")
    w.add_argument("--seed", type=int, default=0)
    s = p.add_argument_group("steps")
    axis = s.add_mutually_exclusive_group()
    axis.add_argument("--concurrency", type=_loads, metavar="LIST", help="e.g. 1,4,16,64")
    axis.add_argument("--request-rate", type=_loads, metavar="LIST", help="req/s, e.g. 2,4,8")
    s.add_argument(
        "--ladder", choices=("concurrency", "rate"), default="concurrency",
        help="without a list: double this from --start up to --max (default concurrency)",
    )  # fmt: skip
    s.add_argument("--start", type=positive_float, default=1.0)
    s.add_argument("--max", type=positive_float, default=256.0, dest="max_load")
    s.add_argument("--step-requests", type=positive_int, help="default 4×concurrency or 10 s×rate")
    s.add_argument("--warmup", type=int, default=0, help="requests before the first step")
    s.add_argument("--timeout", type=positive_float, default=600.0, help="per request, s")
    s.add_argument(
        "--max-error-rate", type=float, default=0.05, help="stop above this failed share (0.05)"
    )
    g = p.add_argument_group("SLOs (ms, on a percentile of each step)")
    g.add_argument("--slo-ttft", type=positive_float)
    g.add_argument("--slo-tpot", type=positive_float)
    g.add_argument("--slo-e2el", type=positive_float)
    g.add_argument("--slo-percentile", type=int, choices=(50, 90, 95, 99), default=99)
    o = p.add_argument_group("output")
    o.add_argument("--out", type=Path, metavar="DIR", help="write sweep.md, .json, .svg here")
    o.add_argument("--no-save", action="store_true", help="do not store the steps' runs")
    p.set_defaults(func=cmd_sweep)


# The flags that are plan builder fields (bench/plan.py), as `llmops bench` has them.
PLAN_FLAGS = (
    "profile", "base_url", "model", "endpoint", "api_key_env", "input_len", "output_len",
    "ignore_eos", "tokenizer", "seed", "warmup", "timeout", "slo_ttft", "slo_tpot", "slo_e2el",
)  # fmt: skip


def _fail(msg: str) -> int:
    print(f"llmops bench sweep: {msg}", file=sys.stderr)
    return 2


def cmd_sweep(args: argparse.Namespace) -> int:
    import asyncio
    from dataclasses import replace

    from llmops_tui.bench.plan import build_plan
    from llmops_tui.bench.session import execute, resolve_tokenizer
    from llmops_tui.bench.store import ResultStore
    from llmops_tui.bench.sweep import SweepPlan, SweepResult, run_sweep
    from llmops_tui.bench.sweep_report import fmt_row, header, step_row, text_plot, write_report
    from llmops_tui.bench.workload import TokenizerError, build_workload
    from llmops_tui.config import paths

    # Each step's workload, the target and SLOs: the plan builder of `llmops bench` (its
    # --concurrency/--request-rate are step lists here, not given to it).
    got = build_plan({f: getattr(args, f) for f in PLAN_FLAGS} | {"num_requests": 1})
    if isinstance(got, list):
        for e in got:
            _fail(e.as_flag())
        return 2
    target, spec, base = got.target, got.spec, got.shape
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        return _fail(f"--out {args.out}: exists and is not a folder")
    axis = "rate" if args.request_rate else ("concurrency" if args.concurrency else args.ladder)
    plan = SweepPlan(
        axis=axis,
        loads=args.request_rate or args.concurrency,
        start=args.start,
        max_load=args.max_load,
        requests_per_step=args.step_requests,
        slo=got.slo,
        slo_percentile=args.slo_percentile,
        max_error_rate=args.max_error_rate,
    )
    errs = plan.validate()
    if errs:
        return _fail("; ".join(errs))
    try:
        tokenizer = resolve_tokenizer(spec, target)
    except TokenizerError as exc:
        return _fail(str(exc))
    store = None if args.no_save else ResultStore(paths().results_db)
    tag = time.strftime("%Y%m%d-%H%M%S")
    print(
        f"sweep {target.base_url} model={target.model} {plan.axis} "
        f"{', '.join(f'{x:g}' for x in plan.ladder())} in={spec.input_len} out={spec.output_len}",
        file=sys.stderr,
    )
    print(fmt_row(header(SweepResult(plan))))

    async def main():
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            if stop.is_set():
                raise KeyboardInterrupt
            print("\nstopping: keeping the steps done (Ctrl-C again to quit)", file=sys.stderr)
            stop.set()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (NotImplementedError, RuntimeError):
            pass

        async def run_step(load, shape, n):
            step_spec = replace(spec, num_requests=n)
            wl = build_workload(step_spec, tokenizer)
            out = await execute(
                target,
                step_spec,
                shape,
                tokenizer=tokenizer,
                slo=plan.slo,
                stop=stop,
                store=store,
                label=f"sweep {tag} {plan.axis}={load:g}",
                workload=wl,
                timeout=got.timeout,
            )
            return out.summary, out.run_id, out.result.partial

        def on_step(step, res):
            print(fmt_row(step_row(step, res)), flush=True)

        return await run_sweep(plan, base, run_step, stop=stop, on_step=on_step)

    from llmops_tui.bench.eventloop import run as run_loop
    from llmops_tui.bench.session import TargetAsleep

    try:
        res = run_loop(main())
    except TargetAsleep as exc:  # a sleeping engine answers nothing: say so, no traceback
        return _fail(str(exc))
    print()
    print(text_plot(res))
    if res.steps and res.steps[-1].summary.get("telemetry", {}).get("metrics") not in (None, "ok"):
        print(f"engine metrics: {res.steps[-1].summary['telemetry']['metrics']}")
    print(f"answer: {res.answer()}")
    if args.out is not None:
        title = f"{target.model} @ {target.profile or target.base_url}, {plan.axis} sweep"
        for path in write_report(res, args.out, title):
            print(f"wrote {path}")
    if not res.steps or not any(s.summary.get("completed") for s in res.steps):
        return 1
    # 3: stopped early by the user or a step cut short; a stop at the error limit is an answer
    return 3 if any(st.partial for st in res.steps) or res.stopped == "stopped by the user" else 0
