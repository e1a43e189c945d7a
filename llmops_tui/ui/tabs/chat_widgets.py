"""Chat widgets: a prompt bubble, a streaming reply (Markdown + metrics line), a column."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label, Static

from llmops_tui.chat.blocks import Piece, TailSplitter  # (markdown-it is imported on first use)
from llmops_tui.chat.model import Message

# Render at most this often while streaming: at 1,000+ tok/s each update carries
# dozens of tokens, instead of one Markdown re-parse per token.
FRAME_S = 0.05
RENDER_BUDGET_FACTOR = 3.0
# Freeze finished blocks once the live tail holds at least this many characters of them:
# bounds the tail's render cost and keeps the number of frozen segments small.
FREEZE_CHARS = 256
# A single block longer than this (a huge paragraph or code block) is cut while it
# streams, keeping the last LIVE_KEEP_CHARS live, and joined again when the reply ends.
LIVE_MAX_CHARS = 4000
LIVE_KEEP_CHARS = 1000
# ...unless the joined block would be longer than this (Rich takes ~160 ms for a
# 20,000-character code block, ~0.8 s for 110,000).
JOIN_MAX_CHARS = 24000


class UserBubble(Static):
    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)
        self.text = text


class ReplyBody(Widget):
    """A reply's Markdown (Rich: code blocks highlighted), drawn line by line in one widget.

    The text is a list of *frozen* pieces (finished blocks, rendered once and kept) and a
    *live* tail (the block still growing, rendered again on each update). Each piece is
    followed by one blank line, as blocks are in Markdown. Being one leaf widget however
    long the reply, an update costs the same on the 10th block as on the 1,000th, and no
    widget is mounted while streaming.

    While ``streaming`` fast, the height reported to the layout is rounded up to a multiple
    of twice the lines the last update added (at most ``RESERVE_LINES``): most updates then
    fit in lines already reserved and repaint only the lines that changed, without a layout
    pass over the screen. A slow stream (a line per update or less) gets its exact height,
    so no blank lines show under the text.
    """

    CODE_THEME = "monokai"
    RESERVE_LINES = 8

    def __init__(self, source: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.pieces: list[Piece] = []  # frozen, in order
        self.live = Piece(source)
        self.streaming = False
        self._width = -1  # the width the cached lines are for
        self._piece_lines: list[list[Strip]] = []  # per frozen piece rendered, in order
        self._frozen_lines: list[Strip] = []  # the same, flattened (what is drawn)
        self._live_lines: tuple[int, list[Strip]] | None = None
        self._style: Style | None = None  # the style the lines were rendered with
        self._height = 0  # lines last reported to the layout
        self._step = 1  # the height is reserved in multiples of this while streaming
        self._lines_total = 0  # rendered lines after the last update

    # content -----------------------------------------------------------------------------

    @property
    def source(self) -> str:
        return "".join(p.source for p in self.pieces) + self.live.source

    def update_text(self, frozen: list[Piece], live: Piece) -> None:
        """Move ``frozen`` pieces out of the live tail, which becomes ``live``."""
        before = len(self._frozen_lines) if len(self._piece_lines) == len(self.pieces) else 0
        self.pieces.extend(frozen)
        self.live = live
        self._live_lines = None
        self._changed(first_line=before)

    def set_text(self, pieces: list[Piece], live: Piece) -> None:
        """Replace the pieces and the tail. Pieces kept (the same objects) keep their
        rendered lines; only new ones are rendered."""
        kept = {id(p): lines for p, lines in zip(self.pieces, self._piece_lines)}
        first_new = next((i for i, p in enumerate(pieces) if id(p) not in kept), len(pieces))
        self.pieces = list(pieces)
        if self._width > 0 and self._style is not None:
            self._piece_lines = [
                kept.get(id(p)) or self._render(p, self._width) for p in self.pieces
            ]
        else:
            self._piece_lines = []
        self._frozen_lines = [line for lines in self._piece_lines for line in lines]
        self.live = live
        self._live_lines = None
        first_line = sum(len(lines) for lines in self._piece_lines[:first_new])
        self._changed(first_line=first_line)

    def set_streaming(self, streaming: bool) -> None:
        self.streaming = streaming
        self._changed(first_line=0)

    # rendering ---------------------------------------------------------------------------

    def _render(self, piece: Piece, width: int) -> list[Strip]:
        if not piece.source or width <= 0:
            return []
        # Imported on first use (rich.markdown + pygments: ~25 ms of the cold start); the
        # app imports it in a thread soon after starting (LlmopsApp._warm_imports).
        from rich.markdown import Markdown as RichMarkdown

        app = self.app
        lines = app.console.render_lines(
            RichMarkdown(piece.prefix + piece.source, code_theme=self.CODE_THEME),
            app.console_options.update(width=width, highlight=False),
            style=self._style,
        )
        strips = [Strip(line, width) for line in lines]
        strips.append(Strip.blank(width, self._style))  # the gap after a block
        return strips

    def _lines(self, width: int) -> tuple[list[Strip], list[Strip]]:
        """(frozen lines, live lines) at ``width``, rendering only what is new."""
        if self._style is None:
            self._style = self.rich_style
        if self._width != width:
            self._width, self._piece_lines, self._frozen_lines = width, [], []
            self._live_lines = None
        frozen = self._frozen_lines
        while len(self._piece_lines) < len(self.pieces):
            lines = self._render(self.pieces[len(self._piece_lines)], width)
            self._piece_lines.append(lines)
            frozen.extend(lines)
        if self._live_lines is None or self._live_lines[0] != width:
            self._live_lines = (width, self._render(self.live, width))
        return frozen, self._live_lines[1]

    def _layout_height(self, lines: int) -> int:
        if self.streaming and self._step > 1:
            return -(-lines // self._step) * self._step
        return lines

    def _changed(self, first_line: int) -> None:
        width = self.content_size.width
        if width <= 0 or not self.is_mounted:
            self.refresh(layout=True)
            return
        frozen, live = self._lines(width)
        lines = len(frozen) + len(live)
        # (The first text's lines are not a rate: no reserve until the second update.)
        growth = lines - self._lines_total if self._lines_total else 0
        self._lines_total = lines
        self._step = min(self.RESERVE_LINES, max(1, 2 * growth)) if self.streaming else 1
        height = self._layout_height(lines)
        if height != self._height:
            self.refresh(layout=True)
        else:  # same size: repaint from the first changed line down, no layout pass
            self.refresh(Region(0, first_line, width, max(0, height - first_line)))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Render again only if this widget's colours changed (a theme switch), not on
        # every class change above it (the reply losing "streaming" restyles its subtree).
        if self._style is not None and self.rich_style != self._style:
            self._style = None
            self._width, self._piece_lines, self._frozen_lines = -1, [], []
            self._live_lines = None

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        frozen, live = self._lines(width)
        self._height = self._layout_height(len(frozen) + len(live))
        return self._height

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        frozen, live = self._lines(width)
        if y < len(frozen):
            return frozen[y]
        if y - len(frozen) < len(live):
            return live[y - len(frozen)]
        return Strip.blank(width, self.rich_style)

    def text_lines(self) -> list[str]:
        """The rendered lines as plain text (for tests and copy checks)."""
        frozen, live = self._lines(self.content_size.width)
        return [strip.text for strip in frozen + live]


class ReplyView(Vertical, can_focus=True):
    """One reply: streamed in batches into a live Markdown tail, then its metrics or error.

    The text is shown in one :class:`ReplyBody`. While streaming, finished top-level
    blocks (see :mod:`llmops_tui.chat.blocks`) move out of the live tail into frozen
    pieces, rendered once and never touched again; each update re-renders only the live
    tail, so its cost does not grow with the reply's length (Textual's own Markdown
    widget re-lays out one child widget per block on every update: ~1 ms/token at 1,000
    tok/s on a 20k-character reply). Updates are coalesced: at most one every
    ``FRAME_S``, spaced further when a render is slow.
    """

    BINDINGS = [Binding("c", "copy", "Copy reply", id="reply.copy")]

    def __init__(self, who: str, message: Message | None = None) -> None:

        super().__init__()
        self.who = who
        self.message = message
        # Deltas waiting to be rendered; appended from the network thread (deque: thread-safe).
        self._pending: deque[str] = deque()
        self._splitter = TailSplitter(FREEZE_CHARS, LIVE_MAX_CHARS, LIVE_KEEP_CHARS)
        self._finished = asyncio.Event()
        self._render_task: asyncio.Task | None = None
        self.updates = 0  # live-tail renders done while streaming (frames)
        self.tokens_fed = 0

    def compose(self) -> ComposeResult:
        yield Label(self.who, classes="reply-who")
        content = self.message.content if self.message is not None else ""
        yield ReplyBody(content, classes="reply-body")
        yield Static("", classes="reply-metrics", markup=False)
        yield Static("", classes="reply-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(".reply-error").display = False
        if self.message is not None and (self.message.metrics or self.message.error):
            self._show_outcome(self.message)

    @property
    def body(self) -> ReplyBody:
        return self.query_one(ReplyBody)

    # streaming --------------------------------------------------------------------------

    def start_stream(self) -> None:
        self.add_class("streaming")
        self.body.set_streaming(True)
        self.query_one(".reply-metrics", Static).update("streaming… (Esc stops)")
        self._render_task = asyncio.create_task(self._render_loop())

    def feed(self, delta: str) -> None:
        """Called per delta from the network path: only appends to a buffer."""
        self._pending.append(delta)
        self.tokens_fed += 1

    async def _render_loop(self) -> None:
        while True:
            finished = self._finished.is_set()
            pause = FRAME_S
            if self._pending:
                t0 = time.perf_counter()
                await self._render_pending()
                self.updates += 1
                # Keep rendering to at most ~1/(1+factor) of the loop's time, so that key
                # presses and the network are served in between.
                pause = max(FRAME_S, RENDER_BUDGET_FACTOR * (time.perf_counter() - t0))
            if finished:
                return
            try:
                await asyncio.wait_for(self._finished.wait(), pause)
            except asyncio.TimeoutError:
                pass

    async def _render_pending(self) -> None:
        pending = self._pending
        chunk = "".join([pending.popleft() for _ in range(len(pending))])
        splitter = self._splitter
        pieces = splitter.feed(chunk)
        # Finished blocks (or a cut of one huge block) become frozen pieces, rendered
        # once; the live tail restarts with what is still growing.
        self.body.update_text(pieces, Piece(splitter.live, splitter.prefix, splitter.continues))
        await asyncio.sleep(0)  # let the refresh (and key presses) run

    async def finish(self, message: Message) -> None:
        """The reply ended (complete, cancelled or failed): final text, metrics or error."""
        self.message = message
        self._finished.set()
        if self._render_task is not None:
            await self._render_task
            self._render_task = None
        body = self.body
        if self.source != message.content:
            # Not what was streamed (should not happen): show the message's text whole.
            body.set_text([], Piece(message.content))
        else:
            self._join_cut_blocks()
        body.set_streaming(False)
        self.remove_class("streaming")
        self._show_outcome(message)

    def _join_cut_blocks(self) -> None:
        """Blocks cut while streaming (they grew too long) become one piece again."""
        body = self.body
        parts = [*body.pieces, body.live]
        if not any(p.continues for p in parts):
            return
        groups: list[list[Piece]] = []
        for part in parts:
            if part.continues and groups:
                groups[-1].append(part)
            else:
                groups.append([part])
        joined: list[Piece] = []
        for group in groups:
            size = sum(len(p.source) for p in group)
            if len(group) == 1 or size > JOIN_MAX_CHARS:
                # Kept as it is (a huge block stays cut: rendering it whole would hold
                # the screen for a second or more, e.g. a 6,000-line code block).
                joined.extend(group)
            else:
                joined.append(Piece("".join(p.source for p in group)))
        body.set_text(joined[:-1], joined[-1])

    def _show_outcome(self, message: Message) -> None:
        metrics = self.query_one(".reply-metrics", Static)
        metrics.update(message.metrics.line() if message.metrics else "")
        err = self.query_one(".reply-error", Static)
        if message.error is not None:
            err.update(f"✖ {message.error.message}")
            err.display = True
        if not message.content:
            self.body.display = False

    @property
    def source(self) -> str:
        """The Markdown text shown (frozen pieces, then the live tail)."""
        return self.body.source

    @property
    def segments(self) -> int:
        """Pieces the reply is rendered in (frozen pieces + the live tail)."""
        return len(self.body.pieces) + 1

    def action_copy(self) -> None:
        text = self.message.content if self.message else self.source
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(text):,} characters")


class ChatColumn(VerticalScroll):
    """One side of the conversation (A, or B in A/B mode); follows the newest text."""

    def on_mount(self) -> None:
        self.anchor()

    def last_reply(self) -> ReplyView | None:
        replies = self.query(ReplyView)
        return replies.last() if replies else None
