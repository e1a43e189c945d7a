"""Human-readable numbers shared by the CLI and the Monitor tab."""

from __future__ import annotations

GIB = 1024**3
MIB = 1024**2


def gib(n: int | None) -> str:
    return "?" if n is None else f"{n / GIB:.1f} GiB"


def mib(n: int | None) -> str:
    return "?" if n is None else f"{n / MIB:,.0f} MiB"


def pct(frac: float | None, digits: int = 0) -> str:
    return "–" if frac is None else f"{frac * 100:.{digits}f}%"


def num(v: float | None, unit: str = "", digits: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:,.{digits}f}{unit}"


def tokens(n: int | float | None) -> str:
    if n is None:
        return "–"
    if n >= 1_000_000:
        return f"{n / 1_000_000:.2f} M"
    if n >= 10_000:
        return f"{n / 1000:.0f} k"
    return f"{n:,.0f}"


def bar(frac: float | None, width: int = 20) -> str:
    """A text bar: ``█████░░░░░`` (empty when unknown)."""
    if frac is None:
        return "·" * width
    frac = min(max(frac, 0.0), 1.0)
    full = round(frac * width)
    return "█" * full + "░" * (width - full)
