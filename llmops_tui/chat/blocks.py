"""Where a streaming Markdown reply can be cut: after its last *finished* top-level block.

While a reply streams, only its last top-level block (a paragraph, list, code fence,
table…) can still change; every block before it is final once a later block has begun.
:func:`finished_prefix_length` finds that point, so the UI renders the finished part
once and keeps re-rendering only the live tail: the render cost of each update then
depends on the tail, not on the reply's length.

No Textual here: it uses ``markdown-it-py`` (the parser Textual's Markdown widget uses,
"gfm-like"), so the cut points agree with how the text is rendered.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt

_NEWLINE = re.compile(r"\r\n|\r|\n")


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("gfm-like")


def finished_prefix_length(text: str) -> int:
    """Length of the longest prefix of ``text`` made of finished top-level blocks.

    The prefix ends where the last top-level block begins (0 if there is only one
    block so far). ``text[:n]`` and ``text[n:]`` rendered one after the other show the
    same blocks as ``text`` rendered at once.
    """
    tokens = _parser().parse(text)
    last_start: int | None = None
    for token in reversed(tokens):
        if token.level == 0 and token.map is not None:
            last_start = token.map[0]
            break
    if not last_start:
        return 0
    # markdown-it counts lines split at \r\n, \r or \n (str.splitlines also splits at
    # \u2028 and friends, which Markdown does not).
    for i, newline in enumerate(_NEWLINE.finditer(text), 1):
        if i == last_start:
            return newline.end()
    return len(text)
