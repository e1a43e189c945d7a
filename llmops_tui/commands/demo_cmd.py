"""`llmops demo`: a real engine on any box, then the TUI on its Chat tab.

The engine env with vLLM's CPU build (found in the managed envs, else created: live
install output), a tiny random-weight Llama, a ``demo`` profile on a free port, the
engine started and ready. Exit codes: 0 ready; 1 a step failed (which, why, the log).
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="set up and start a real engine anywhere (vLLM CPU build + a tiny model), "
        "then open the Chat tab",
    )
    p.add_argument("--no-tui", action="store_true", help="stop once the engine is ready (no TUI)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for ready (600)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from llmops_tui.demo.setup import DEMO_PROFILE, DemoError, run_demo

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        run_demo(say, ready_timeout=args.timeout)
    except DemoError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    print(
        f'chat from a shell: llmops chat --profile {DEMO_PROFILE} "hello"; '
        f"stop it: llmops down {DEMO_PROFILE}",
        flush=True,
    )
    if args.no_tui:
        return 0
    from llmops_tui.cli import _run_tui

    return _run_tui(argparse.Namespace(tab="chat"))
