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


SPARK_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int, lo: float = 0.0, hi: float | None = None) -> str:
    """``values`` squeezed into ``width`` columns (max per column) on a fixed scale.

    ``hi`` None scales to the largest value (for tokens/s); percentages pass 100 so
    that a flat 40 % reads as 40 %, not as a full bar. Fewer values than columns
    are right-aligned (newest at the right edge), padded with spaces.
    """
    if width <= 0 or not values:
        return " " * max(width, 0)
    n = len(values)
    if n > width:
        cols = [max(values[i * n // width : (i + 1) * n // width]) for i in range(width)]
    else:
        cols = list(values)
    top = hi if hi is not None else max(cols)
    span = (top - lo) or 1.0
    last = len(SPARK_BARS) - 1
    chars = []
    for v in cols:
        ratio = min(max((v - lo) / span, 0.0), 1.0)
        chars.append(SPARK_BARS[round(ratio * last)])
    return " " * (width - len(chars)) + "".join(chars)
