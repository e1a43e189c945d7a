"""Text reports: a run summary laid out like ``vllm bench serve``'s, and a side-by-side comparison."""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmops_tui.bench.metrics import REQUEST_COLUMNS

WIDTH = 50


def precise(x: float, digits: int = 2, sig: int = 2, grouping: bool = False) -> str:
    """``x`` with ``digits`` decimals, or more for a small non-zero value so that ``sig``
    significant digits show (0.003 % of KV cache was printed "0.00")."""
    if x != 0 and math.isfinite(x) and abs(x) < 10 ** (sig - 1 - digits):
        digits = max(digits, sig - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}" if grouping else f"{x:.{digits}f}"


def _num(x: Any, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if isinstance(x, int):
        return str(x)
    return precise(x, digits)


def _line(label: str, value: Any, digits: int = 2) -> str:
    return f"{label:<40}{_num(value, digits):<10}"


def _rule(title: str, ch: str = "-") -> str:
    return f"{title:{ch}^{WIDTH}}"


METRIC_BLOCKS = (
    ("ttft_ms", "TTFT", "Time to First Token"),
    ("tpot_ms", "TPOT", "Time per Output Token (excl. 1st token)"),
    ("itl_ms", "ITL", "Inter-token Latency"),
    ("e2el_ms", "E2EL", "End-to-end Latency"),
)


def format_summary(summary: dict[str, Any], status: str = "", extra: Sequence[str] = ()) -> str:
    s = summary
    lines = [_rule(" Serving Benchmark Result ", "=")]
    if status:
        lines.append(f"{'Status:':<40}{status}")
    lines += [
        _line("Successful requests:", s["completed"]),
        _line("Failed requests:", s["failed"]),
        _line("Benchmark duration (s):", s["duration_s"]),
        _line("Total input tokens:", s.get("total_input_tokens")),
        _line("Total generated tokens:", s.get("total_output_tokens")),
        _line("Request throughput (req/s):", s["request_throughput"]),
    ]
    if "goodput" in s:
        lines.append(_line("Request goodput (req/s):", s["goodput"]))
    lines += [
        _line("Output token throughput (tok/s):", s["output_throughput"]),
        _line("Total Token throughput (tok/s):", s["total_token_throughput"]),
    ]
    for key, short, title in METRIC_BLOCKS:
        d = s[key]
        lines.append(_rule(title))
        lines.append(_line(f"Mean {short} (ms):", d["mean"]))
        lines.append(_line(f"Median {short} (ms):", d["p50"]))
        for p in ("p90", "p95", "p99"):
            lines.append(_line(f"P{p[1:]} {short} (ms):", d[p]))
    if s.get("telemetry"):
        lines += telemetry_lines(s["telemetry"])
    lines.append("=" * WIDTH)
    lines.append(f"output tokens counted from: {s.get('output_token_source', '?')}")
    note = chunk_note(s)
    if note:
        lines.append(note)
    for err, n in (s.get("errors") or {}).items():
        lines.append(f"failed ×{n}: {err}")
    lines += list(extra)
    return "\n".join(lines)


def _pct(x: Any) -> Any:
    return None if x is None else 100 * x


def _slash(*xs: Any, digits: int = 1) -> str:
    return " / ".join(_num(x, digits) for x in xs)


def telemetry_lines(t: dict[str, Any]) -> list[str]:
    """The summary's engine/GPU block (``summary["telemetry"]``, see bench/telemetry.py)."""
    st, ct = t.get("server_ttft_ms") or {}, t.get("client_ttft_ms") or {}
    si = t.get("server_itl_ms") or {}
    rows = [
        ("Samples (mean interval ms):", f"{t.get('samples')} ({_num(t.get('interval_ms'), 0)})"),
        ("KV cache peak / mean (%):", _slash(_pct(t.get("kv_peak")), _pct(t.get("kv_mean")))),
        ("Running requests peak / mean:", _slash(t.get("running_peak"), t.get("running_mean"))),
        ("Waiting (queue) peak / mean:", _slash(t.get("waiting_peak"), t.get("waiting_mean"))),
        ("Preemptions:", _num(t.get("preemptions"), 0)),
        ("Prefix cache hit rate (%):", _num(_pct(t.get("prefix_hit_rate")), 1)),
        ("Engine-counted output tokens:", _num(t.get("engine_generation_tokens"), 0)),
        ("TTFT mean/p50/p99 (ms), engine:", _slash(st.get("mean"), st.get("p50"), st.get("p99"))),
        ("TTFT mean/p50/p99 (ms), client:", _slash(ct.get("mean"), ct.get("p50"), ct.get("p99"))),
        ("ITL mean/p50 (ms), engine:", _slash(si.get("mean"), si.get("p50"))),
        ("GPU util mean (%):", _num(t.get("gpu_util_mean"), 1)),
        (
            "GPU power mean / peak (W):",
            _slash(t.get("gpu_power_mean_w"), t.get("gpu_power_peak_w")),
        ),
        ("Energy (J):", _num(t.get("energy_j"), 1)),
        ("Joules per output token:", _num(t.get("joules_per_output_token"), 4)),
        ("Output tokens per joule:", _num(t.get("output_tokens_per_joule"), 3)),
    ]
    lines = [_rule(" Engine and GPU telemetry ")]
    lines += [f"{label:<40}{value}" for label, value in rows]
    if t.get("energy_source"):
        lines.append(f"energy from: {t['energy_source']}")
    if t.get("metrics") != "ok":
        lines.append(f"engine metrics: none ({t.get('metrics')})")
    gpu = t.get("gpu") or ""
    lines.append(f"GPU: {gpu}" if gpu.startswith("GPUs") else f"GPU: none ({gpu})")
    return lines


def telemetry_line(t: dict[str, Any] | None) -> str | None:
    """One line for the tab: the engine's side of a finished run."""
    if not t:
        return None
    st, ct = t.get("server_ttft_ms") or {}, t.get("client_ttft_ms") or {}
    parts = []
    if t.get("metrics") == "ok":
        parts.append(
            f"engine: KV peak {_num(_pct(t.get('kv_peak')), 0)} %, running peak "
            f"{_num(t.get('running_peak'), 0)}, queue peak {_num(t.get('waiting_peak'), 0)}, "
            f"preempted {_num(t.get('preemptions'), 0)}, TTFT p50 {_num(st.get('p50'), 1)} ms "
            f"(client {_num(ct.get('p50'), 1)})"
        )
    else:
        parts.append(f"engine metrics: none ({t.get('metrics')})")
    if t.get("output_tokens_per_joule") is not None:
        parts.append(
            f"GPU {_num(t.get('gpu_power_mean_w'), 0)} W mean, "
            f"{_num(t.get('output_tokens_per_joule'), 2)} tok/J"
        )
    elif not str(t.get("gpu", "")).startswith("GPUs"):
        parts.append("no GPU figures")
    return " · ".join(parts)


COMPARE_ROWS = (
    ("status", "status", None),
    ("completed", "completed", 0),
    ("failed", "failed", 0),
    ("duration_s", "duration (s)", 2),
    ("request_throughput", "req/s", 2),
    ("output_throughput", "output tok/s", 1),
    ("total_token_throughput", "total tok/s", 1),
    ("goodput", "goodput (req/s)", 2),
    ("ttft_ms.p50", "TTFT p50 (ms)", 2),
    ("ttft_ms.p99", "TTFT p99 (ms)", 2),
    ("tpot_ms.p50", "TPOT p50 (ms)", 2),
    ("tpot_ms.p99", "TPOT p99 (ms)", 2),
    ("itl_ms.p50", "ITL p50 (ms)", 2),
    ("itl_ms.p99", "ITL p99 (ms)", 2),
    ("e2el_ms.p50", "E2EL p50 (ms)", 2),
    ("e2el_ms.p99", "E2EL p99 (ms)", 2),
    ("telemetry.server_ttft_ms.p50", "engine TTFT p50 (ms)", 2),
    ("telemetry.kv_peak", "KV peak (0–1)", 3),
    ("telemetry.kv_mean", "KV mean (0–1)", 3),
    ("telemetry.waiting_peak", "queue peak", 0),
    ("telemetry.running_peak", "running peak", 0),
    ("telemetry.preemptions", "preemptions", 0),
    ("telemetry.gpu_util_mean", "GPU util mean (%)", 1),
    ("telemetry.gpu_power_mean_w", "GPU power mean (W)", 1),
    ("telemetry.joules_per_output_token", "J per output token", 4),
    ("telemetry.output_tokens_per_joule", "output tok per J", 3),
)


def chunk_note(summary: dict[str, Any]) -> str | None:
    """Why ITL (and TPOT) can read ~0: the engine sent several tokens per chunk."""
    tpc = summary.get("tokens_per_chunk")
    if not isinstance(tpc, (int, float)) or tpc < 1.5:
        return None
    return (
        f"{tpc:.1f} tokens per chunk: ITL is timed per chunk read, so gaps inside a chunk "
        "are 0 (ITL, TPOT near 0 are real, not a fault)"
    )


def slo_text(slo: dict[str, Any] | None) -> str:
    """``TTFT≤200 TPOT≤50`` (ms) for the SLOs a run checked; "" when none."""
    parts = [
        f"{name}≤{_num(v, 0) if float(v).is_integer() else _num(v, 1)}"
        for key, name in (("ttft_ms", "TTFT"), ("tpot_ms", "TPOT"), ("e2el_ms", "E2EL"))
        if (v := (slo or {}).get(key)) is not None
    ]
    return " ".join(parts)


def goodput_text(summary: dict[str, Any]) -> str | None:
    """One line on goodput: req/s meeting every SLO and their share of completed requests."""
    if "goodput" not in summary:
        return None
    good, tput = summary["goodput"], summary.get("request_throughput")
    share = ""
    if isinstance(tput, (int, float)) and tput > 0 and not math.isnan(tput):
        share = f" ({100 * good / tput:.0f} % of completed requests)"
    return f"goodput {_num(good)} req/s{share} meeting {slo_text(summary.get('slo'))} ms"


def compare_rows(runs: Sequence[Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a side-by-side comparison of stored runs (``StoredRun``)."""
    header = ["", *[f"#{r.id}" for r in runs]]
    rows: list[list[str]] = [
        ["model", *[str(r.target.get("model", "?")) for r in runs]],
        ["engine", *[str(r.target.get("engine") or "-") for r in runs]],
        ["target", *[str(r.target.get("profile") or r.target.get("base_url", "?")) for r in runs]],
        ["endpoint", *[str(r.workload.get("endpoint", "?")) for r in runs]],
        [
            "in/out len",
            *[f"{r.workload.get('input_len')}/{r.workload.get('output_len')}" for r in runs],
        ],
        ["concurrency", *[str(r.load.get("concurrency") or "∞") for r in runs]],
        ["rate (req/s)", *[str(r.load.get("request_rate") or "∞") for r in runs]],
        ["SLOs", *[slo_text(r.summary.get("slo")) or "-" for r in runs]],
    ]
    with_telemetry = any(r.summary.get("telemetry") for r in runs)
    for key, label, digits in COMPARE_ROWS:
        if key.startswith("telemetry.") and not with_telemetry:
            continue
        row = [label]
        for r in runs:
            if key == "status":
                row.append(r.status)
                continue
            v: Any = r.summary
            for part in key.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            row.append(_num(v, digits) if digits is not None else _num(v))
        rows.append(row)
    return header, rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    out = []
    for i, r in enumerate(table):
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        out.append("  ".join(cells).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


# One row per request: itl_ms (a list) becomes its count and mean.
CSV_FIELDS = (*(c for c in REQUEST_COLUMNS if c != "itl_ms"), "itl_count", "itl_mean_ms")


def write_csv(path: Path, requests: Sequence[dict[str, Any]]) -> None:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        for r in requests:
            itl = r.get("itl_ms") or []
            row = {k: r.get(k) for k in CSV_FIELDS[:-2]}
            row["itl_count"] = len(itl)
            row["itl_mean_ms"] = sum(itl) / len(itl) if itl else None
            w.writerow(row)


def export_run(run: Any, folder: Path) -> tuple[Path, Path]:
    """Write a stored run (``StoredRun`` with its requests and telemetry series) as
    ``run-ID.json`` (the keys of ``llmops bench --json``) and ``run-ID.csv`` (one row per request) into ``folder``."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    requests = run.requests or []
    report = {
        "summary": run.summary,
        "requests": requests,
        "workload": run.workload,
        "load": run.load,
        "target": run.target,
        "run_id": run.id,
        "status": run.status,
        "reason": run.reason,
        "label": run.label,
        "telemetry": run.telemetry or [],
    }
    json_path, csv_path = folder / f"run-{run.id}.json", folder / f"run-{run.id}.csv"
    json_path.write_text(json.dumps(report, indent=1, default=str))
    write_csv(csv_path, requests)
    return json_path, csv_path
