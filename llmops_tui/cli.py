"""`llmops` entry point: no arguments → the TUI; subcommands → headless.

Each subcommand lives in ``llmops_tui/commands/<name>.py`` with a
``register(subparsers)`` function that adds its parser and sets ``func``.
Command modules import their heavy dependencies inside ``func`` so that
``llmops --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading

from llmops_tui import __version__

# Module names under llmops_tui.commands, in --help order.
COMMAND_MODULES = [
    "profiles_cmd",
    "models_cmd",
    "monitor_cmd",
    "engines_cmd",
    "sleep_cmd",
    "envs_cmd",
    "bench_cmd",
    "chat_cmd",
    "bakeoff_cmd",
    "demo_cmd",
    "keys_cmd",
]


# The TUI's tabs (ui/app.py TABS), here so that `llmops --help` need not import Textual.
TAB_IDS = ["models", "engines", "monitor", "chat", "loadtest"]


# Which module registers each command, so that `llmops swap …` imports and registers only
# engines_cmd (~15 ms less per command: the other modules, bench's workload presets). A test
# checks this against what each module's register() adds; an unknown word gets every module.
COMMAND_OWNERS = {
    **dict.fromkeys(("profiles",), "profiles_cmd"),
    **dict.fromkeys(("models",), "models_cmd"),
    **dict.fromkeys(("gpus", "top"), "monitor_cmd"),
    **dict.fromkeys(("up", "down", "ps", "logs", "swap"), "engines_cmd"),
    **dict.fromkeys(("sleep", "wake"), "sleep_cmd"),
    **dict.fromkeys(("envs",), "envs_cmd"),
    **dict.fromkeys(("bench",), "bench_cmd"),
    **dict.fromkeys(("chat",), "chat_cmd"),
    **dict.fromkeys(("bakeoff",), "bakeoff_cmd"),
    **dict.fromkeys(("demo",), "demo_cmd"),
    **dict.fromkeys(("keys",), "keys_cmd"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or with ``only`` (a module of COMMAND_MODULES) that module's commands."""
    parser = argparse.ArgumentParser(
        prog="llmops",
        description="Operate local LLM inference servers (vLLM, SGLang, TGI). "
        "Run without a command to open the terminal UI.",
    )
    parser.add_argument("--version", action="version", version=f"llmops {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="headless commands")
    tui = sub.add_parser("tui", help="open the terminal UI (same as no command)")
    tui.add_argument(
        "--tab",
        choices=TAB_IDS,
        default="engines",
        help="the tab shown first (default: engines)",
    )
    tui.set_defaults(func=_run_tui)
    for name in [only] if only else COMMAND_MODULES:
        module = importlib.import_module(f"llmops_tui.commands.{name}")
        module.register(sub)
    return parser


def _run_tui(args: argparse.Namespace | None) -> int:
    import gc

    # No cyclic collections while the app starts (it makes ~1M objects, few of them garbage:
    # ~40 ms of collections measured); LlmopsApp collects once, freezes what the start made
    # and enables the collector again a couple of seconds in (ui/app.py _freeze_gc).
    gc.disable()
    from llmops_tui.ui.app import LlmopsApp

    LlmopsApp(initial_tab=getattr(args, "tab", None) or "engines").run()
    return 0


def unignore_stop_signals() -> list[str]:
    """Give an ignored SIGINT/SIGTERM their default handling back; the names of those reset.

    Engines inherit llmops's signal dispositions through fork and exec. A shell that starts
    llmops in the background (``llmops up … &``, some CI runners) starts it with SIGINT
    ignored; vLLM, stopped with SIGINT, then stayed deaf to it until the grace ran out and it
    was SIGKILLed (every stop 20 s, no clean shutdown). Only the main thread may set handlers;
    ``main()`` called in-process from another thread (tests) changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return []
    reset = []
    for sig, handler in (
        (signal.SIGINT, signal.default_int_handler),
        (signal.SIGTERM, signal.SIG_DFL),
    ):
        if signal.getsignal(sig) == signal.SIG_IGN:
            signal.signal(sig, handler)
            reset.append(sig.name)
    return reset


def main(argv: list[str] | None = None) -> int:
    unignore_stop_signals()
    if not (sys.argv[1:] if argv is None else argv):
        # The TUI: no need to import every subcommand's module for the parser (~15 ms).
        return _run_tui(None)
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(COMMAND_OWNERS.get(words[0]))
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        return _run_tui(args)
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
