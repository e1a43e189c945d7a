"""Bake-off report: per-scenario tables (one column per engine, best value marked),
text plots (throughput vs concurrency, TTFT percentiles), and the files written to
``--out DIR``: ``bakeoff.md``, ``bakeoff.csv`` (one row per engine × scenario) and
``bakeoff.json`` (everything).

"Best" is the highest value for throughputs and prefix hit rate, the lowest for
latencies and GPU memory; values that are missing (engine refused, failed, no GPU)
take no part, ties are all best, and a row with fewer than two values, or where every
engine has the same value, marks none.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmops_tui.bench.bakeoff_results import BakeoffResult, EngineResult, ScenarioResult

HIGHER, LOWER = "higher", "lower"


# (key, label, better, digits, scale); keys with a dot read the run summary.
METRICS: tuple[tuple[str, str, str | None, int, float], ...] = (
    ("completed", "completed", None, 0, 1),
    ("failed", "failed", None, 0, 1),
    ("output_throughput", "output tok/s", HIGHER, 1, 1),
    ("request_throughput", "req/s", HIGHER, 2, 1),
    ("total_token_throughput", "total tok/s", HIGHER, 1, 1),
    ("e2el_ms.mean", "latency mean (ms)", LOWER, 1, 1),
    ("e2el_ms.p50", "latency p50 (ms)", LOWER, 1, 1),
    ("e2el_ms.p99", "latency p99 (ms)", LOWER, 1, 1),
    ("ttft_ms.mean", "TTFT mean (ms)", LOWER, 1, 1),
    ("ttft_ms.p50", "TTFT p50 (ms)", LOWER, 1, 1),
    ("ttft_ms.p99", "TTFT p99 (ms)", LOWER, 1, 1),
    ("tpot_ms.mean", "TPOT mean (ms)", LOWER, 2, 1),
    ("tpot_ms.p50", "TPOT p50 (ms)", LOWER, 2, 1),
    ("tpot_ms.p99", "TPOT p99 (ms)", LOWER, 2, 1),
    ("itl_ms.mean", "ITL mean (ms)", LOWER, 2, 1),
    ("itl_ms.p50", "ITL p50 (ms)", LOWER, 2, 1),
    ("itl_ms.p99", "ITL p99 (ms)", LOWER, 2, 1),
    ("gpu_mem_peak_mib", "GPU mem peak (MiB)", LOWER, 0, 1),
    ("gpu_mem_steady_mib", "GPU mem steady (MiB)", LOWER, 0, 1),
    ("kv_usage_peak", "KV cache peak (%)", None, 2, 100),
    ("prefix_hit_rate", "prefix hit rate (%)", HIGHER, 1, 100),
    # from the run's telemetry (bench/telemetry.py): the engine's side and energy
    ("telemetry.kv_mean", "KV cache mean (%)", None, 2, 100),
    ("telemetry.running_peak", "running peak", None, 0, 1),
    ("telemetry.waiting_peak", "queue peak", LOWER, 0, 1),
    ("telemetry.preemptions", "preemptions", LOWER, 0, 1),
    ("telemetry.server_ttft_ms.p50", "engine TTFT p50 (ms)", LOWER, 1, 1),
    ("telemetry.gpu_util_mean", "GPU util mean (%)", None, 1, 1),
    ("telemetry.gpu_power_mean_w", "GPU power mean (W)", LOWER, 0, 1),
    ("telemetry.joules_per_output_token", "J per output token", LOWER, 4, 1),
    ("telemetry.output_tokens_per_joule", "output tok per J", HIGHER, 3, 1),
)
NA_WHEN_MISSING = {
    "gpu_mem_peak_mib",
    "gpu_mem_steady_mib",
    "kv_usage_peak",
    "prefix_hit_rate",
    *(m[0] for m in METRICS if m[0].startswith("telemetry.")),
}


def metric_value(sr: ScenarioResult | None, key: str) -> float | None:
    """A scenario's value for ``key`` (summary path or ScenarioResult field); None if missing."""
    if sr is None or sr.status == "not run":
        return None
    if "." in key or key in sr.summary:
        v: Any = sr.summary
        for part in key.split("."):
            v = v.get(part) if isinstance(v, dict) else None
    else:
        v = getattr(sr, key, None)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def best_indices(values: Sequence[float | None], better: str | None) -> set[int]:
    """Indices of the best values (ties included); none when fewer than two values or all equal."""
    if better is None:
        return set()
    valid = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(valid) < 2:
        return set()
    pick = max if better == HIGHER else min
    best = pick(v for _, v in valid)
    tol = 1e-9 * max(1.0, abs(best))
    best_set = {i for i, v in valid if abs(v - best) <= tol}
    return set() if len(best_set) == len(valid) else best_set


def scenario_names(result: BakeoffResult) -> list[str]:
    names = [s["name"] for s in result.suite.get("scenarios", [])]
    for e in result.engines:
        for s in e.scenarios:
            if s.scenario not in names:
                names.append(s.scenario)
    return names


def scenario_of(engine: EngineResult, name: str) -> ScenarioResult | None:
    for s in engine.scenarios:
        if s.scenario == name:
            return s
    return None


def _fmt(v: float | None, digits: int, scale: float, key: str) -> str:
    if v is None:
        return "n/a" if key in NA_WHEN_MISSING else "-"
    v = v * scale
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def scenario_table(
    result: BakeoffResult, name: str
) -> tuple[list[str], list[list[str]], list[set[int]]]:
    """Header, rows and, per row, the engine columns (0-based) holding the best value."""
    engines = result.engines
    header = ["", *[e.profile for e in engines]]
    srs = [scenario_of(e, name) for e in engines]
    rows: list[list[str]] = [["status", *[_status(e, s) for e, s in zip(engines, srs)]]]
    bests: list[set[int]] = [set()]
    for key, label, better, digits, scale in METRICS:
        values = [metric_value(s, key) for s in srs]
        if key.startswith("telemetry.") and all(v is None for v in values):
            continue  # no engine had this (older runs, TGI's missing histograms, no GPU)
        rows.append([label, *[_fmt(v, digits, scale, key) for v in values]])
        bests.append(best_indices(values, better))
    return header, rows, bests


def _status(e: EngineResult, s: ScenarioResult | None) -> str:
    if s is None:
        return e.status
    if s.status == "not run":
        return f"not run ({e.status})"
    return s.status


def _scenario_title(result: BakeoffResult, name: str) -> str:
    for s in result.suite.get("scenarios", []):
        if s["name"] == name:
            conc = s.get("concurrency") or "∞"
            if s.get("sweep"):
                conc = "sweep " + ",".join(map(str, s["sweep"]))
            extra = ""
            if s.get("dataset") == "shared-prefix":
                extra = f", {s.get('num_prefixes')} prefixes of {s.get('prefix_len')}"
            return (
                f"{name}: {s['num_requests']} requests, concurrency {conc}, "
                f"in {s['input_len']} / out {s['output_len']} tokens{extra}"
            )
    return name


BOLD_GREEN, RESET = "\x1b[1;32m", "\x1b[0m"


def sweep_lines(result: BakeoffResult, name: str) -> list[str]:
    """Each engine's answer in a sweep scenario (its table shows the step that answers)."""
    out = []
    for e in result.engines:
        sr = scenario_of(e, name)
        sweep = sr.summary.get("sweep") if sr is not None else None
        if sweep:
            out.append(f"{e.profile}: {sweep['answer']} (table: concurrency {sweep['shown']:g})")
    return out


def format_scenario_table(result: BakeoffResult, name: str, color: bool = False) -> str:
    header, rows, bests = scenario_table(result, name)
    cells = [
        [c + ("*" if (j - 1) in bests[i] else "") for j, c in enumerate(r)]
        for i, r in enumerate(rows)
    ]
    table = [header, *cells]
    widths = [max(len(r[k]) for r in table) for k in range(len(header))]
    out = [_scenario_title(result, name)]
    for i, r in enumerate(table):
        parts = [r[0].ljust(widths[0])]
        for k, c in enumerate(r[1:], start=1):
            text = c.rjust(widths[k])
            if color and i > 0 and (k - 1) in bests[i - 1]:
                text = BOLD_GREEN + text + RESET
            parts.append(text)
        out.append("  ".join(parts).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("* best (higher throughput / hit rate, lower latency / memory)")
    out += sweep_lines(result, name)
    return "\n".join(out)


def engines_table(result: BakeoffResult) -> tuple[list[str], list[list[str]]]:
    header = ["profile", "engine", "model", "status", "startup (s)", "GPU freed", "reason"]
    rows = []
    for e in result.engines:
        freed = {True: "yes", False: "NO", None: "n/a"}[e.gpu_memory_released]
        rows.append(
            [
                e.profile,
                e.engine,
                e.model,
                e.status,
                "-" if e.startup_s is None else f"{e.startup_s:.1f}",
                freed,
                (e.reason or e.stop_note or "").replace("\n", " "),
            ]
        )
    return header, rows


def _plain_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[k]) for r in table) for k in range(len(header))]
    out = []
    for i, r in enumerate(table):
        out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# -- text plots ---------------------------------------------------------------
EIGHTHS = " ▏▎▍▌▋▊▉"
BAR_WIDTH = 36


def bar(value: float, top: float, width: int = BAR_WIDTH) -> str:
    """A horizontal unicode bar of ``value / top`` of ``width`` cells (eighth-cell steps)."""
    if top <= 0 or value <= 0:
        return ""
    eighths = round(min(value / top, 1.0) * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (EIGHTHS[rest] if rest else "")


def _concurrency(result: BakeoffResult, name: str) -> int | None:
    for s in result.suite.get("scenarios", []):
        if s["name"] == name:
            return s.get("concurrency")
    return None


def plot_throughput(result: BakeoffResult) -> str:
    """Output tok/s per scenario, scenarios ordered by concurrency, one bar per engine."""
    names = sorted(scenario_names(result), key=lambda n: (_concurrency(result, n) or 10**9, n))
    values = {
        (n, e.profile): metric_value(scenario_of(e, n), "output_throughput")
        for n in names
        for e in result.engines
    }
    top = max((v for v in values.values() if v is not None), default=0.0)
    label_w = max((len(e.profile) for e in result.engines), default=0)
    lines = ["output tok/s vs concurrency"]
    for n in names:
        conc = _concurrency(result, n)
        lines.append(f"c={conc or '∞'}  {n}")
        for e in result.engines:
            v = values[(n, e.profile)]
            shown = "n/a" if v is None else f"{v:,.1f}"
            lines.append(f"  {e.profile.ljust(label_w)} │{bar(v or 0, top)} {shown}")
    return "\n".join(lines)


def plot_ttft(result: BakeoffResult, percentiles: Sequence[str] = ("p50", "p90", "p99")) -> str:
    """TTFT percentiles (ms) per scenario and engine, bars scaled within each scenario."""
    lines = ["TTFT percentiles (ms)"]
    label_w = max((len(e.profile) for e in result.engines), default=0)
    for n in scenario_names(result):
        vals = {
            (e.profile, p): metric_value(scenario_of(e, n), f"ttft_ms.{p}")
            for e in result.engines
            for p in percentiles
        }
        top = max((v for v in vals.values() if v is not None), default=0.0)
        lines.append(n)
        for e in result.engines:
            for p in percentiles:
                v = vals[(e.profile, p)]
                shown = "n/a" if v is None else f"{v:,.1f}"
                lines.append(f"  {e.profile.ljust(label_w)} {p:>3} │{bar(v or 0, top)} {shown}")
    return "\n".join(lines)


# -- the report ----------------------------------------------------------------
def _header_lines(result: BakeoffResult) -> list[str]:
    suite = result.suite
    status = "partial: " + (result.reason or "") if result.partial else "complete"
    lines = [
        f"bake-off{f' #{result.id}' if result.id is not None else ''}: suite "
        f"'{suite.get('name')}' on {len(result.engines)} engine(s) — {status}",
    ]
    if suite.get("description"):
        lines.append(suite["description"])
    return lines


def format_report(result: BakeoffResult, color: bool = False) -> str:
    parts = ["\n".join(_header_lines(result)), _plain_table(*engines_table(result))]
    for name in scenario_names(result):
        parts.append(format_scenario_table(result, name, color))
    parts.append(plot_throughput(result))
    parts.append(plot_ttft(result))
    return "\n\n".join(parts)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], bests=None, numeric: bool = True
) -> str:
    out = ["| " + " | ".join(_md_escape(h) or " " for h in header) + " |"]
    rest = "---:" if numeric else "---"
    out.append("|" + "|".join(["---", *[rest] * (len(header) - 1)]) + "|")
    for i, r in enumerate(rows):
        cells = [_md_escape(r[0])]
        for k, c in enumerate(r[1:]):
            c = _md_escape(c)
            cells.append(f"**{c}**" if bests is not None and k in bests[i] else c)
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def format_markdown(result: BakeoffResult) -> str:
    head = _header_lines(result)
    parts = [f"# {head[0]}"]
    if len(head) > 1:
        parts.append(head[1])
    parts.append("## Engines")
    parts.append(_md_table(*engines_table(result), numeric=False))
    parts.append(
        "## Scenarios\n\nBest values in **bold** (higher throughput and prefix hit rate, "
        "lower latency and GPU memory). GPU memory is n/a without an NVIDIA GPU."
    )
    for name in scenario_names(result):
        header, rows, bests = scenario_table(result, name)
        parts.append(f"### {_md_escape(_scenario_title(result, name))}")
        parts.append(_md_table(header, rows, bests))
        parts += [f"- {_md_escape(line)}" for line in sweep_lines(result, name)]
    parts.append("## Plots")
    parts.append("```\n" + plot_throughput(result) + "\n```")
    parts.append("```\n" + plot_ttft(result) + "\n```")
    return "\n\n".join(parts) + "\n"


CSV_FIELDS = (
    "bakeoff_id",
    "profile",
    "engine",
    "engine_status",
    "scenario",
    "status",
    "reason",
    "run_id",
    "dataset",
    "concurrency",
    "num_requests",
    "input_len",
    "output_len",
    *[m[0] for m in METRICS],
    "startup_s",
)


def csv_rows(result: BakeoffResult) -> list[dict[str, Any]]:
    """One row per engine × scenario (engines that did not run get 'not run' rows)."""
    specs = {s["name"]: s for s in result.suite.get("scenarios", [])}
    rows = []
    for e in result.engines:
        for name in scenario_names(result):
            sr = scenario_of(e, name)
            spec = specs.get(name) or (sr.spec if sr else {})
            row: dict[str, Any] = {
                "bakeoff_id": result.id,
                "profile": e.profile,
                "engine": e.engine,
                "engine_status": e.status,
                "scenario": name,
                "status": sr.status if sr else "not run",
                "reason": (sr.reason if sr else None) or (e.reason if e.status != "ok" else None),
                "run_id": sr.run_id if sr else None,
                "dataset": spec.get("dataset"),
                "concurrency": spec.get("concurrency"),
                "num_requests": spec.get("num_requests"),
                "input_len": spec.get("input_len"),
                "output_len": spec.get("output_len"),
                "startup_s": e.startup_s,
            }
            for key, *_ in METRICS:
                row[key] = metric_value(sr, key)
            rows.append(row)
    return rows


def write_csv(path: Path, result: BakeoffResult) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for row in csv_rows(result):
            w.writerow(row)


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def report_json(result: BakeoffResult) -> dict[str, Any]:
    """Everything: the result (suite, engines, per-scenario summaries) and the best engine per metric."""
    best: dict[str, dict[str, list[str]]] = {}
    for name in scenario_names(result):
        srs = [scenario_of(e, name) for e in result.engines]
        best[name] = {}
        for key, _, better, *_ in METRICS:
            idx = best_indices([metric_value(s, key) for s in srs], better)
            if idx:
                best[name][key] = [result.engines[i].profile for i in sorted(idx)]
    return _json_safe({"bakeoff": result.to_dict(), "best": best})


def write_report_files(result: BakeoffResult, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "markdown": out_dir / "bakeoff.md",
        "csv": out_dir / "bakeoff.csv",
        "json": out_dir / "bakeoff.json",
    }
    files["markdown"].write_text(format_markdown(result), encoding="utf-8")
    write_csv(files["csv"], result)
    files["json"].write_text(
        json.dumps(report_json(result), indent=1, default=str), encoding="utf-8"
    )
    return files
