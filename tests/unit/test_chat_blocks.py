"""Cut points of a streaming Markdown reply: only finished top-level blocks are frozen."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from llmops_tui.chat.blocks import finished_prefix_length


def split(text: str) -> tuple[str, str]:
    n = finished_prefix_length(text)
    return text[:n], text[n:]


@pytest.mark.parametrize(
    ("text", "frozen", "live"),
    [
        ("hello wor", "", "hello wor"),
        ("para one\n\npara two", "para one\n\n", "para two"),
        ("1. a\n2. b\n\n```py\nx = 1\n", "1. a\n2. b\n\n", "```py\nx = 1\n"),
        # An open code fence swallows blank lines and later text: nothing is finished.
        ("```py\nx = 1\n\nmore\n", "", "```py\nx = 1\n\nmore\n"),
        ("a\n\n\n# h\ntext", "a\n\n\n# h\n", "text"),
        ("p\r\n\r\nq", "p\r\n\r\n", "q"),
        # U+2028 is no line break for Markdown (str.splitlines would count it).
        ("a\u2028b\n\nc", "a\u2028b\n\n", "c"),
        # A list still growing is one block: its items stay live together.
        ("- x\n- y\n- z", "", "- x\n- y\n- z"),
    ],
)
def test_cut_after_the_last_finished_block(text: str, frozen: str, live: str) -> None:
    assert split(text) == (frozen, live)


def _blocks(text: str) -> list[tuple[str, str]]:
    """Top-level block types and their inline content, as the renderer sees them."""
    tokens = MarkdownIt("gfm-like").parse(text)
    return [(t.type, t.content) for t in tokens if t.level <= 1 and t.type != "paragraph_close"]


def test_streaming_cuts_render_the_same_blocks_as_the_whole_text() -> None:
    """Feed a reply 7 characters at a time, freezing like the widget does: same blocks."""
    text = (
        "Steps:\n\n1. take\n2. check\n\n```python\ndef f(x):\n\n    return x\n```\n\n"
        "> quoted\n> more\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nDone.\n"
    ) * 3
    frozen: list[str] = []
    live = ""
    for i in range(0, len(text), 7):
        live += text[i : i + 7]
        cut = finished_prefix_length(live)
        if cut:
            frozen.append(live[:cut])
            live = live[cut:]
    assert "".join(frozen) + live == text
    assert len(frozen) > 10
    rendered = [b for part in [*frozen, live] for b in _blocks(part)]
    assert rendered == _blocks(text)


def test_tail_splitter_cuts_huge_blocks_and_keeps_fences_renderable() -> None:
    """A code block longer than live_max_chars is cut at line breaks; the cut-off parts
    render with the fence's opening line, and all pieces join back to the text."""
    from llmops_tui.chat.blocks import TailSplitter

    code = "".join(f"x{i} = {i}\n" for i in range(60))
    text = "Intro.\n\n```py\n" + code + "```\n\n" + "word " * 80 + "\n\nEnd."
    splitter = TailSplitter(freeze_chars=10, live_max_chars=60, live_keep_chars=20)
    pieces = []
    for i in range(0, len(text), 7):
        pieces += splitter.feed(text[i : i + 7])
        assert len(splitter.live) <= 60 + 7
    assert "".join(p.source for p in pieces) + splitter.live == text
    fence_cuts = [p for p in pieces if p.prefix]
    assert fence_cuts and all(p.prefix == "```py\n" and p.continues for p in fence_cuts)
    # Rendered with its prefix, every cut of the fence is code, not prose.
    for p in fence_cuts:
        tokens = MarkdownIt("gfm-like").parse(p.prefix + p.source)
        assert tokens[0].type == "fence", p
    # The paragraph of 80 words was cut too (at spaces): its first piece starts the
    # block, the others continue it (to be joined when the reply ends).
    words = [p for p in pieces if p.source.startswith("word")]
    assert len(words) > 2 and not words[0].continues
    assert all(p.continues for p in words[1:]) and not splitter.continues
    assert splitter.live == "End."
