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
from dataclasses import dataclass
from functools import lru_cache

_NEWLINE = re.compile(r"\r\n|\r|\n")


@lru_cache(maxsize=1)
def _parser():  # -> markdown_it.MarkdownIt
    from markdown_it import MarkdownIt  # on first use: ~20 ms kept out of the app's cold start

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


_FENCE_OPENER = re.compile(r"[ ]{0,3}(?:`{3,}|~{3,})[^\n]*\n")


def fence_opener(block: str) -> str:
    """The opening line (with its newline) if ``block`` starts with a code fence, else ""."""
    m = _FENCE_OPENER.match(block.lstrip("\r\n"))
    return m.group(0) if m else ""


def provisional_cut(text: str, at: int) -> int:
    """A cut near ``at`` (before it) at a line break, else a space, else exactly ``at``."""
    for sep in ("\n", " "):
        k = text.rfind(sep, 0, at) + 1
        if k > 0:
            return k
    return max(1, at)


@dataclass
class Piece:
    """Text leaving the live tail: rendered with ``prefix`` (a code fence's opening line
    when it continues a cut fence); ``continues`` if cut out of a block still growing."""

    source: str
    prefix: str = ""
    continues: bool = False


@dataclass
class TailSplitter:
    """Keeps the live tail of a streaming reply short: what to freeze after each chunk.

    Finished blocks are frozen once at least ``freeze_chars`` of them are there. A single
    block that grows past ``live_max_chars`` (a huge paragraph or code block) is cut
    provisionally at a line break, keeping ``live_keep_chars`` live; such pieces are
    marked ``continues`` and should be joined again when the reply ends.
    """

    freeze_chars: int = 256
    live_max_chars: int = 4000
    live_keep_chars: int = 1000
    live: str = ""
    prefix: str = ""  # render prefix of the live tail (a cut code fence's opener)
    continues: bool = False  # the live tail continues a provisionally cut block

    def feed(self, chunk: str) -> list[Piece]:
        tail = self.live + chunk
        out: list[Piece] = []
        if len(tail) >= self.freeze_chars or self.continues:
            cut = finished_prefix_length(self.prefix + tail) - len(self.prefix)
            # A cut block that has finished is frozen at once (its prefix must not reach
            # the next block); so is anything finished when the tail is too long.
            if cut > 0 and (
                cut >= self.freeze_chars or self.continues or len(tail) > self.live_max_chars
            ):
                out.append(Piece(tail[:cut], self.prefix, self.continues))
                tail, self.prefix, self.continues = tail[cut:], "", False
        if len(tail) > self.live_max_chars:
            # One block only is left (anything finished was frozen above): cut inside it.
            k = provisional_cut(tail, len(tail) - self.live_keep_chars)
            out.append(Piece(tail[:k], self.prefix, self.continues))
            self.prefix = self.prefix or fence_opener(tail)
            tail, self.continues = tail[k:], True
        self.live = tail
        return out
