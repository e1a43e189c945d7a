"""argparse value types shared by the commands (a bad value gets argparse's own error line)."""

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
