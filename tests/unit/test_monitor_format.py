"""Text bars and sparklines used by the Monitor tab and `llmops top`."""

from __future__ import annotations

from llmops_tui.telemetry.format import bar, sparkline, tokens


def test_sparkline_fixed_scale_shows_a_flat_forty_percent_as_forty_percent():
    line = sparkline([40.0] * 10, 10, 0, 100)
    assert line == "▄" * 10  # not a full bar, as a min..max scale would draw


def test_sparkline_squeezes_to_width_with_max_per_column_and_right_aligns():
    values = [0.0] * 90 + [100.0] * 10
    line = sparkline(values, 10, 0, 100)
    assert len(line) == 10 and line[-1] == "█" and line[0] == "▁"
    assert sparkline([50.0, 100.0], 5, 0, 100) == "   ▅█"
    assert sparkline([], 4) == "    "
    assert sparkline([3.0, 6.0], 2) == "▅█"  # auto scale to the max


def test_bar_and_tokens():
    assert bar(0.5, 10) == "█████░░░░░"
    assert bar(None, 4) == "····"
    assert bar(1.7, 4) == "████"
    assert tokens(1_212_416) == "1.21 M" and tokens(139_808) == "140 k" and tokens(None) == "–"
