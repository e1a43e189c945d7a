"""argparse value types shared by the commands (a bad value gets argparse's own error line),
and the target flags of `llmops bench` and `bench sweep`."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number ≥ 1 (``--max-tokens``, ``--limit``, run ids, sweep lengths)."""
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {v}")
    return v


def number(text: str) -> float:
    """Any number (``llmops chat --temperature``; the engine judges its range)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def positive_float(text: str) -> float:
    """A number > 0 (``bench sweep --start``, ``--timeout``, SLOs in ms)."""
    v = number(text)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return v


def add_target_flags(parser: argparse.ArgumentParser) -> None:
    """--base-url/--model/--profile/--endpoint/--api-key-env: the plan builder's target fields
    (bench/plan.py), the same for `llmops bench` and `llmops bench sweep`."""
    t = parser.add_argument_group("target")
    t.add_argument("--base-url", help="server root, e.g. http://127.0.0.1:8000")
    t.add_argument("--model", help="model name to send (default: the profile's)")
    t.add_argument("--profile", help="take base URL and model from this profile")
    t.add_argument("--endpoint", choices=("completions", "chat"), help="(default completions)")
    t.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key")
