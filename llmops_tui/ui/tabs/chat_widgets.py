"""Chat widgets: a prompt bubble, a streaming reply (Markdown + metrics line), a column."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Label, Static

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


class UserBubble(Static):
    DEFAULT_CSS = """
    UserBubble {
        margin: 1 0 0 6;
        padding: 0 1;
        background: $boost;
        border-left: thick $accent;
        height: auto;
    }
    """

    def __init__(self, text: str) -> None:
        super().__init__(text, markup=False)
        self.text = text


class MarkdownSegment(Widget):
    """Markdown text rendered (Rich: code blocks highlighted) into one leaf widget.

    One widget however many blocks the text has, so laying out a long reply costs the
    same as a short one. The text is rendered once per width (and style change) and the
    lines are kept: the layout's height query and the painting share that one render.
    """

    DEFAULT_CSS = "MarkdownSegment { height: auto; }"
    CODE_THEME = "monokai"

    def __init__(
        self, source: str = "", prefix: str = "", continues: bool = False, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.prefix = prefix  # rendered before the source (a cut code fence's opener)
        self.continues = continues  # cut out of the block the previous segment holds
        self._lines: tuple[int, list[Strip]] | None = None  # (width, rendered lines)
        self._style: Style | None = None  # the style they were rendered with

    def set_source(self, source: str, prefix: str = "", continues: bool = False) -> None:
        self.source, self.prefix, self.continues = source, prefix, continues
        self._lines = None
        self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        # Render again only if this widget's colours changed (a theme switch), not on
        # every class change above it (the reply losing "streaming" restyles its subtree).
        if self._lines is not None and self.rich_style != self._style:
            self._lines = None

    def _strips(self, width: int) -> list[Strip]:
        if self._lines is None or self._lines[0] != width:
            strips: list[Strip] = []
            self._style = self.rich_style
            if self.source and width > 0:
                # Imported on first use (rich.markdown + pygments: ~25 ms of the cold start);
                # the app imports it in a thread soon after starting (LlmopsApp._warm_imports).
                from rich.markdown import Markdown as RichMarkdown

                app = self.app
                lines = app.console.render_lines(
                    RichMarkdown(self.prefix + self.source, code_theme=self.CODE_THEME),
                    app.console_options.update(width=width, highlight=False),
                    style=self._style,
                )
                strips = [Strip(line, width) for line in lines]
            self._lines = (width, strips)
        return self._lines[1]

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return container.width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._strips(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        strips = self._strips(width)
        if y < len(strips):
            return strips[y]
        return Strip.blank(width, self.rich_style)


class ReplyView(Vertical, can_focus=True):
    """One reply: streamed in batches into a live Markdown tail, then its metrics or error.

    The text is shown in :class:`MarkdownSegment` leaf widgets. While streaming, finished
    top-level blocks (see :mod:`llmops_tui.chat.blocks`) move out of the live tail into
    frozen segments, rendered once and never touched again; each update re-renders only
    the live tail, so its cost does not grow with the reply's length (Textual's own
    Markdown widget re-lays out one child widget per block on every update: ~1 ms/token
    at 1,000 tok/s on a 20k-character reply). Updates are coalesced: at most one every
    ``FRAME_S``, spaced further when a render is slow.
    """

    DEFAULT_CSS = """
    ReplyView { height: auto; margin: 1 0 0 0; padding: 0 1; border-left: thick $panel; }
    ReplyView:focus { border-left: thick $accent; }
    ReplyView .reply-who { color: $text-muted; text-style: italic; }
    ReplyView MarkdownSegment { margin: 0 0 1 0; padding: 0; height: auto; }
    ReplyView .reply-metrics { color: $text-muted; }
    ReplyView .reply-error {
        color: $text-error; background: $error-muted; padding: 0 1; height: auto;
    }
    ReplyView.streaming .reply-metrics { color: $warning; }
    """
    BINDINGS = [Binding("c", "copy", "Copy reply")]

    def __init__(self, who: str, message: Message | None = None) -> None:
        from llmops_tui.chat.blocks import TailSplitter  # markdown-it: off the cold start

        super().__init__()
        self.who = who
        self.message = message
        # Deltas waiting to be rendered; appended from the network thread (deque: thread-safe).
        self._pending: deque[str] = deque()
        self._frozen_parts: list[str] = []  # sources of the frozen segments, in order
        self._splitter = TailSplitter(FREEZE_CHARS, LIVE_MAX_CHARS, LIVE_KEEP_CHARS)
        self._live_text = ""  # source of the live tail widget
        self._finished = asyncio.Event()
        self._render_task: asyncio.Task | None = None
        self.updates = 0  # live-tail renders done while streaming (frames)
        self.tokens_fed = 0

    def compose(self) -> ComposeResult:
        yield Label(self.who, classes="reply-who")
        content = self.message.content if self.message is not None else ""
        self._live_text = content
        yield MarkdownSegment(content, classes="reply-md reply-live")
        yield Static("", classes="reply-metrics", markup=False)
        yield Static("", classes="reply-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(".reply-error").display = False
        if self.message is not None and (self.message.metrics or self.message.error):
            self._show_outcome(self.message)

    @property
    def _live(self) -> MarkdownSegment:
        return self.query_one(".reply-live", MarkdownSegment)

    # streaming --------------------------------------------------------------------------

    def start_stream(self) -> None:
        self.add_class("streaming")
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
        live = self._live
        splitter = self._splitter
        pieces = splitter.feed(chunk)
        self._live_text = splitter.live
        if pieces:
            # Finished blocks (or a cut of one huge block) go to frozen segments, rendered
            # once; the live widget restarts with what is still growing.
            self._frozen_parts.extend(p.source for p in pieces)
            with self.app.batch_update():
                await self.mount_all(
                    [
                        MarkdownSegment(
                            p.source, p.prefix, p.continues, classes="reply-md reply-frozen"
                        )
                        for p in pieces
                    ],
                    before=live,
                )
                live.set_source(splitter.live, splitter.prefix, splitter.continues)
        else:
            live.set_source(splitter.live, splitter.prefix, splitter.continues)
        await asyncio.sleep(0)  # let the refresh (and key presses) run

    async def finish(self, message: Message) -> None:
        """The reply ended (complete, cancelled or failed): final text, metrics or error."""
        self.message = message
        self._finished.set()
        if self._render_task is not None:
            await self._render_task
            self._render_task = None
        if self.source != message.content:
            # Not what was streamed (should not happen): show the message's text whole.
            await self.query(".reply-frozen").remove()
            self._frozen_parts.clear()
            self._live_text = message.content
            self._live.set_source(message.content)
        else:
            await self._join_cut_blocks()
        self.remove_class("streaming")
        self._show_outcome(message)

    async def _join_cut_blocks(self) -> None:
        """Blocks cut while streaming (they grew too long) become one segment again."""
        segments = list(self.query(MarkdownSegment))
        if not any(seg.continues for seg in segments):
            return
        groups: list[list[MarkdownSegment]] = []
        for seg in segments:
            if seg.continues and groups:
                groups[-1].append(seg)
            else:
                groups.append([seg])
        drop: list[MarkdownSegment] = []
        for group in groups:
            if len(group) > 1:
                # Into the group's last widget, which may be the live one.
                group[-1].set_source("".join(seg.source for seg in group))
                drop.extend(group[:-1])
        await self.remove_children(drop)
        self._frozen_parts = [seg.source for seg in self.query(".reply-frozen")]
        self._live_text = self._live.source

    def _show_outcome(self, message: Message) -> None:
        metrics = self.query_one(".reply-metrics", Static)
        metrics.update(message.metrics.line() if message.metrics else "")
        err = self.query_one(".reply-error", Static)
        if message.error is not None:
            err.update(f"✖ {message.error.message}")
            err.display = True
        if not message.content:
            self._live.display = False

    @property
    def source(self) -> str:
        """The Markdown text shown (frozen segments, then the live tail)."""
        return "".join(self._frozen_parts) + self._live_text

    @property
    def segments(self) -> int:
        """Markdown widgets the reply is shown in (frozen segments + the live tail)."""
        return len(self._frozen_parts) + 1

    def action_copy(self) -> None:
        text = self.message.content if self.message else self.source
        self.app.copy_to_clipboard(text)
        self.notify(f"copied {len(text):,} characters")


class ChatColumn(VerticalScroll):
    """One side of the conversation (A, or B in A/B mode); follows the newest text."""

    DEFAULT_CSS = """
    ChatColumn { height: 1fr; width: 1fr; padding: 0 1; }
    ChatColumn .column-empty { color: $text-muted; margin: 1 0; }
    """

    def on_mount(self) -> None:
        self.anchor()

    def last_reply(self) -> ReplyView | None:
        replies = self.query(ReplyView)
        return replies.last() if replies else None
