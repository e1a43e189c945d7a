"""`llmops gpus [--json]` and `llmops top [--once] [--json] [--url NAME=URL]...`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def default_targets() -> list[Any]:
    """Engine targets known without ``--url``: the supervisor's running engines."""
    from llmops_tui.telemetry.targets import running_engine_targets

    return running_engine_targets()


def register(sub: argparse._SubParsersAction) -> None:
    gpus = sub.add_parser(
        "gpus", help="GPUs now: memory, utilisation, power, temperature, processes"
    )
    gpus.add_argument("--json", action="store_true", help="machine-readable output")
    gpus.set_defaults(func=cmd_gpus)

    top = sub.add_parser("top", help="GPUs and engine stats (KV cache, requests, tokens/s)")
    top.add_argument("--once", action="store_true", help="print one snapshot and exit")
    top.add_argument("--json", action="store_true", help="machine-readable output (JSON lines)")
    top.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="an engine to scrape, e.g. llama=http://127.0.0.1:8000 (repeatable; "
        "NAME=vllm@URL names the engine kind, otherwise it is detected)",
    )
    top.add_argument(
        "--interval", type=float, default=1.0, help="seconds between samples (default 1)"
    )
    top.set_defaults(func=cmd_top)


def _targets(args: argparse.Namespace) -> list[Any] | None:
    from llmops_tui.telemetry.targets import parse_url_option

    targets = list(default_targets())
    for value in args.url:
        try:
            targets.append(parse_url_option(value))
        except ValueError as exc:
            print(f"llmops top: {exc}", file=sys.stderr)
            return None
    names = [t.name for t in targets]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        print(f"llmops top: engine name(s) given twice: {', '.join(dupes)}", file=sys.stderr)
        return None
    return targets


def cmd_gpus(args: argparse.Namespace) -> int:
    from llmops_tui.telemetry.gpu import NvmlReader
    from llmops_tui.telemetry.host import HostReader
    from llmops_tui.telemetry.targets import pid_owners

    reader = NvmlReader()
    try:
        snap = reader.read(pid_owners(default_targets()))
    finally:
        reader.close()
    host = HostReader().read() if not snap.available else None
    if args.json:
        out = snap.to_dict()
        out["host"] = host.to_dict() if host else None
        print(json.dumps(out, indent=2))
        return 0
    print("\n".join(gpu_lines(snap, host)))
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    import asyncio

    targets = _targets(args)
    if targets is None:
        return 2
    if args.interval <= 0:
        print("llmops top: --interval must be > 0", file=sys.stderr)
        return 2
    return asyncio.run(_top(args, targets))


async def _top(args: argparse.Namespace, targets: list[Any]) -> int:
    import asyncio

    from llmops_tui.telemetry.monitor import MonitorSampler

    sampler = MonitorSampler(targets=lambda: targets)
    try:
        if args.once:
            if targets:
                # Rates (tokens/s) need two scrapes: take one, wait, report the second.
                await sampler.sample()
                await asyncio.sleep(args.interval)
            snap = await sampler.sample()
            _print_snapshot(snap, args.json)
            return 0
        while True:
            snap = await sampler.sample()
            _print_snapshot(snap, args.json)
            if not args.json:
                print()
            await asyncio.sleep(args.interval)
    finally:
        await sampler.aclose()


def _print_snapshot(snap: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(snap.to_dict()), flush=True)
        return
    lines = gpu_lines(snap.gpus, snap.host if not snap.gpus.available else None)
    lines += ["", *engine_lines(snap.engines)]
    print("\n".join(lines), flush=True)


def gpu_lines(snap: Any, host: Any) -> list[str]:
    from llmops_tui.telemetry.format import bar, gib, mib, num, pct

    if not snap.available:
        lines = [snap.reason or "no NVIDIA GPU found"]
        if host is not None:
            lines.append(
                f"host: CPU {host.cpu_percent:.0f}% of {host.cpu_count} cores, "
                f"RAM {gib(host.memory_used)} / {gib(host.memory_total)} "
                f"({pct(host.memory_fraction)})"
            )
        return lines
    lines = [f"{len(snap.gpus)} GPU(s), driver {snap.driver_version or '?'}"]
    for g in snap.gpus:
        if g.error:
            lines.append(f"GPU {g.index} {g.name}: {g.error}")
            continue
        lines.append(
            f"GPU {g.index} {g.name}  mem {bar(g.memory_fraction, 10)} "
            f"{gib(g.memory_used)} / {gib(g.memory_total)}  util {num(g.util_percent, '%')}  "
            f"power {num(g.power_w, ' W')} / {num(g.power_limit_w, ' W')}  "
            f"temp {num(g.temperature_c, ' °C')}"
        )
        for p in g.processes:
            owner = f"[{p.engine}] " if p.engine else ""
            lines.append(
                f"    pid {p.pid:<8} {mib(p.used_bytes):>12}  {owner}"
                f"{p.process_name or '(not visible here)'}  ({p.kind})"
            )
        if g.unsupported:
            lines.append(f"    not supported by this GPU/driver: {', '.join(g.unsupported)}")
    return lines


def engine_lines(engines: list[Any]) -> list[str]:
    from llmops_tui.telemetry.format import num, pct, tokens

    if not engines:
        return ["no engines (start one, or pass --url NAME=URL)"]
    lines = []
    for e in engines:
        if e.error:
            lines.append(f"{e.name} ({e.engine}): {e.error}")
            continue
        asleep = f"  [asleep: {e.sleep_state}]" if e.sleep_state else ""
        lines.append(
            f"{e.name} ({e.engine}{', ' + e.model_name if e.model_name else ''}){asleep}  "
            f"{e.kv_usage_label} {pct(e.kv_cache_usage, 1)} of {tokens(e.kv_capacity_tokens)} tokens  "
            f"running {num(e.running)}  waiting {num(e.waiting)}  "
            f"prompt {num(e.prompt_tps, ' tok/s')}  gen {num(e.gen_tps, ' tok/s')}  "
            f"prefix hit {pct(e.prefix_hit_rate)}  preempted {num(e.preemptions)}"
        )
        for r in e.ranks:
            lines.append(
                f"    {r.rank}: KV {pct(r.kv_cache_usage, 1)}  running {num(r.running)}  "
                f"waiting {num(r.waiting)}  gen {num(r.gen_tps, ' tok/s')}"
            )
    return lines
