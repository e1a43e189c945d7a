"""Every SGLang metric name the scraper reads is defined by the installed SGLang 0.5.23
(`name="sglang:…"` in sglang/srt/observability/metrics_collector.py)."""

from __future__ import annotations

import re

from llmops_tui.telemetry.scrape.engine_maps import SGLANG_WANTED


def test_sglang_metric_names_are_defined_in_the_pinned_release(sglang_dir):
    source = (sglang_dir / "sglang/srt/observability/metrics_collector.py").read_text("utf-8")

    def defined(n: str) -> bool:  # a histogram's series are named after the histogram
        base = re.sub(r"_(sum|count|bucket)$", "", n)
        return f'name="{n}"' in source or f'name="{base}"' in source

    missing = [n for n in sorted(SGLANG_WANTED) if not defined(n)]
    assert not missing
