"""A sweep's output: its step table, a text throughput-vs-latency plot, an SVG of the same
(written by hand: no plotting library), and the report folder (sweep.md/.json/.svg)."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from llmops_tui.bench.sweep import Step, SweepResult, slo_words

HEADER = (
    "load",
    "ok/fail",
    "req/s",
    "out tok/s",
    "TTFT p50",
    "TTFT pQ",
    "TPOT pQ",
    "E2EL pQ",
    "running pk",
    "queue pk",
    "KV pk %",
    "tok/J",
    "SLO",
    "run",
)


def _n(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{x:,.{digits}f}"


def step_row(step: Step, res: SweepResult) -> list[str]:
    q = f"p{res.plan.slo_percentile}"
    kv = step.get("telemetry.kv_peak")
    slo = "-" if step.meets_slo is None else ("ok" if step.meets_slo else "miss")
    return [
        f"{step.load:g}",
        f"{step.summary.get('completed', 0)}/{step.summary.get('failed', 0)}",
        _n(step.get("request_throughput"), 2),
        _n(step.get("output_throughput")),
        _n(step.get("ttft_ms.p50")),
        _n(step.get(f"ttft_ms.{q}")),
        _n(step.get(f"tpot_ms.{q}")),
        _n(step.get(f"e2el_ms.{q}")),
        _n(step.get("telemetry.running_peak"), 0),
        _n(step.get("telemetry.waiting_peak"), 0),
        _n(None if kv is None else 100 * kv),
        _n(step.get("telemetry.output_tokens_per_joule"), 2),
        slo,
        "-" if step.run_id is None else f"#{step.run_id}",
    ]


def header(res: SweepResult) -> list[str]:
    q = f"p{res.plan.slo_percentile}"
    first = "concurrency" if res.plan.axis == "concurrency" else "req/s sent"
    return [first, *(h.replace("pQ", q) for h in HEADER[1:])]


WIDTHS = (11, 9, 7, 10, 9, 9, 9, 9, 10, 8, 7, 6, 4, 5)


def fmt_row(cells: list[str]) -> str:
    return "  ".join(c.rjust(w) for c, w in zip(cells, WIDTHS))


def table(res: SweepResult) -> str:
    rows = [fmt_row(header(res)), *(fmt_row(step_row(s, res)) for s in res.steps)]
    return "\n".join(rows)


def _points(res: SweepResult) -> list[tuple[float, float, float]]:
    """(output tok/s, TTFT p50 ms, load) per step with both figures."""
    out = []
    for s in res.steps:
        x, y = s.get("output_throughput"), s.get("ttft_ms.p50")
        if x is not None and y is not None:
            out.append((x, y, s.load))
    return out


def text_plot(res: SweepResult, width: int = 56, height: int = 12) -> str:
    """TTFT p50 (up) against output tok/s (right); each step is its index (1, 2, …)."""
    pts = _points(res)
    if not pts:
        return "(no step with throughput and TTFT to plot)"
    xmax = max(p[0] for p in pts) or 1.0
    ymax = max(p[1] for p in pts) or 1.0
    grid = [[" "] * width for _ in range(height)]
    for i, (x, y, _) in enumerate(pts):
        col = min(width - 1, int(x / xmax * (width - 1)))
        row = height - 1 - min(height - 1, int(y / ymax * (height - 1)))
        grid[row][col] = str((i + 1) % 10) if i < 9 else "*"
    lines = [f"TTFT p50 (ms) ↑ max {ymax:,.1f}"]
    lines += ["│" + "".join(r) for r in grid]
    lines.append("└" + "─" * width + f"→ output tok/s (max {xmax:,.0f})")
    keys = ", ".join(f"{i + 1}={res.plan.load_text(p[2])}" for i, p in enumerate(pts))
    lines.append(f"steps: {keys}")
    return "\n".join(lines)


def svg_plot(res: SweepResult, title: str = "") -> str:
    """The same plot as an SVG document (text, no dependency)."""
    pts = _points(res)
    w, h, m = 640, 400, 60
    xmax = max((p[0] for p in pts), default=1.0) or 1.0
    ymax = max((p[1] for p in pts), default=1.0) or 1.0

    def sx(x: float) -> float:
        return m + x / xmax * (w - 2 * m)

    def sy(y: float) -> float:
        return h - m - y / ymax * (h - 2 * m)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{m}" y1="{h - m}" x2="{w - m}" y2="{h - m}" stroke="black"/>',
        f'<line x1="{m}" y1="{m}" x2="{m}" y2="{h - m}" stroke="black"/>',
        f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">output tokens/s</text>',
        f'<text x="15" y="{h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 15 {h / 2})">TTFT p50 (ms)</text>',
    ]
    for k in range(5):
        xv, yv = xmax * k / 4, ymax * k / 4
        out.append(f'<text x="{sx(xv):.1f}" y="{h - m + 16}" text-anchor="middle">{xv:,.0f}</text>')
        out.append(f'<text x="{m - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{yv:,.1f}</text>')
    if pts:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, _ in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    sat = res.saturation.load if res.saturation is not None else None
    best = res.best_under_slo.load if res.best_under_slo is not None else None
    for x, y, load in pts:
        color = "#d62728" if load == sat else ("#2ca02c" if load == best else "#1f77b4")
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{color}"/>')
        out.append(f'<text x="{sx(x) + 6:.1f}" y="{sy(y) - 6:.1f}">{escape(f"{load:g}")}</text>')
    for i, part in enumerate(res.answer().split("; ")[:2]):  # the answer, then why it stopped
        out.append(
            f'<text x="{m}" y="{38 + 12 * i}" font-size="10" fill="#444">'
            f"{escape(part[:105])}</text>"
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def as_dict(res: SweepResult) -> dict[str, Any]:
    p = res.plan
    return {
        "axis": p.axis,
        "slo": {
            "percentile": p.slo_percentile,
            "ttft_ms": p.slo.ttft_ms,
            "tpot_ms": p.slo.tpot_ms,
            "e2el_ms": p.slo.e2el_ms,
        },
        "answer": res.answer(),
        "saturation": None if res.saturation is None else res.saturation.load,
        "signal": res.signal,
        "stopped": res.stopped,
        "best_under_slo": None if res.best_under_slo is None else res.best_under_slo.load,
        "steps": [
            {
                "load": s.load,
                "run_id": s.run_id,
                "partial": s.partial,
                "meets_slo": s.meets_slo,
                "slo_misses": s.slo_misses,
                "summary": s.summary,
            }
            for s in res.steps
        ],
    }


def write_report(res: SweepResult, folder: Path, title: str) -> list[Path]:
    """``sweep.md`` (table, text plot, answer), ``sweep.json`` and ``sweep.svg`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    slo = slo_words(res.plan)
    md = [
        f"# Sweep: {title}",
        "",
        f"SLO: {slo}" if slo else "SLO: none",
        "",
        "```",
        table(res),
        "```",
        "",
        "```",
        text_plot(res),
        "```",
        "",
        f"**{res.answer()}**",
        "",
        "![throughput vs TTFT](sweep.svg)",
        "",
    ]
    paths = [folder / "sweep.md", folder / "sweep.json", folder / "sweep.svg"]
    paths[0].write_text("\n".join(md))
    paths[1].write_text(json.dumps(as_dict(res), indent=1, default=str))
    paths[2].write_text(svg_plot(res, title))
    return paths
