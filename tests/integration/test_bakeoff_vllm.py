"""`llmops bakeoff` on two real vLLM CPU engines (tiny model), one after the other, with
the `tiny` suite: prefix caching on (vLLM's default) against off. Runs through the CLI
entry point and checks the report files, the stored runs and the prefix-hit-rate gap.
Each engine starts in ~60 s on CPU (more when the box is busy)."""

from __future__ import annotations

import csv
import json
import socket

import psutil

from llmops_tui.bench.bakeoff_results import BakeoffStore
from llmops_tui.bench.store import ResultStore
from llmops_tui.cli import main
from llmops_tui.config import paths
from llmops_tui.profiles.store import save_profile


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bakeoff_two_vllm_profiles_prefix_caching_on_off(tiny_profile, tmp_path, capsys):
    on = tiny_profile.with_overrides(name="tiny-prefix-on")
    off = tiny_profile.with_overrides(
        name="tiny-prefix-off",
        port=free_port(),
        extra_args=("--no-enable-prefix-caching",),
    )
    files = [save_profile(p, tmp_path / f"{p.name}.toml") for p in (on, off)]
    out = tmp_path / "report"

    rc = main(
        [
            "bakeoff",
            *map(str, files),
            "--suite",
            "tiny",
            "--out",
            str(out),
            "--ready-timeout",
            "300",
        ]
    )
    printed = capsys.readouterr()
    assert rc == 0, printed.out[-3000:] + printed.err[-3000:]

    data = json.loads((out / "bakeoff.json").read_text())
    engines = {e["profile"]: e for e in data["bakeoff"]["engines"]}
    assert set(engines) == {"tiny-prefix-on", "tiny-prefix-off"}
    for e in engines.values():
        assert e["status"] == "ok", e
        assert [s["status"] for s in e["scenarios"]] == ["complete"] * 3
        assert e["startup_s"] > 0

    def hit_rate(profile: str) -> float | None:
        (sp,) = [s for s in engines[profile]["scenarios"] if s["scenario"] == "shared-prefix"]
        return sp["prefix_hit_rate"]

    assert hit_rate("tiny-prefix-on") is not None and hit_rate("tiny-prefix-on") > 0
    assert hit_rate("tiny-prefix-off") in (0, 0.0, None)
    # the random-prompt scenarios reuse nothing but the chat-free BOS: far below shared-prefix
    (seq,) = [s for s in engines["tiny-prefix-on"]["scenarios"] if s["scenario"] == "concurrent-4"]
    assert seq["summary"]["completed"] == 8
    assert seq["kv_usage_peak"] is not None
    assert seq["gpu_mem_peak_mib"] is None  # no GPU here: n/a, not 0

    rows = list(csv.DictReader((out / "bakeoff.csv").open()))
    assert len(rows) == 2 * 3
    assert {(r["profile"], r["scenario"]) for r in rows} == {
        (p, s)
        for p in ("tiny-prefix-on", "tiny-prefix-off")
        for s in ("sequential-short", "concurrent-4", "shared-prefix")
    }
    assert all(float(r["output_throughput"]) > 0 for r in rows)

    md = (out / "bakeoff.md").read_text()
    assert "### shared-prefix" in md and "| prefix hit rate (%) |" in md
    assert "tiny-prefix-on" in md and "tiny-prefix-off" in md
    assert "TTFT p50 (ms)" in printed.out and "output tok/s vs concurrency" in printed.out

    # runs stored and linked to the bake-off
    store = ResultStore(paths().results_db)
    bid = data["bakeoff"]["id"]
    linked = BakeoffStore(store).run_ids(bid)
    assert len(linked) == 6
    assert {p for _, p, _ in linked} == {"tiny-prefix-on", "tiny-prefix-off"}
    assert store.get(linked[0][0]) is not None
    stored = BakeoffStore(store).get(bid)
    assert stored is not None and [e.status for e in stored.engines] == ["ok", "ok"]

    # both engines stopped: nothing of theirs is left listening
    for e in engines.values():
        assert e["gpu_memory_released"] in (True, None)
    for p in (on, off):
        assert not any(
            c.laddr and c.laddr.port == p.port and c.status == psutil.CONN_LISTEN
            for c in psutil.net_connections("tcp")
        )
