"""Chat widgets: a prompt bubble, a streaming reply (Markdown + metrics line), a column."""

from __future__ import annotations

import asyncio
import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Markdown, Static

from llmops_tui.chat.model import Message

# Render at most this often while streaming: at 1,000+ tok/s each update carries
# dozens of tokens, instead of one Markdown re-parse per token.
FRAME_S = 0.05
RENDER_BUDGET_FACTOR = 3.0


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


class ReplyView(Vertical, can_focus=True):
    """One reply: streamed into a Markdown widget in batches, then its metrics or error."""

    DEFAULT_CSS = """
    ReplyView { height: auto; margin: 1 0 0 0; padding: 0 1; border-left: thick $panel; }
    ReplyView:focus { border-left: thick $accent; }
    ReplyView .reply-who { color: $text-muted; text-style: italic; }
    ReplyView Markdown { margin: 0; padding: 0; height: auto; }
    ReplyView .reply-metrics { color: $text-muted; }
    ReplyView .reply-error {
        color: $text-error; background: $error-muted; padding: 0 1; height: auto;
    }
    ReplyView.streaming .reply-metrics { color: $warning; }
    """
    BINDINGS = [Binding("c", "copy", "Copy reply")]

    def __init__(self, who: str, message: Message | None = None) -> None:
        super().__init__()
        self.who = who
        self.message = message
        self._pending: list[str] = []
        self._source_parts: list[str] = []
        self._finished = asyncio.Event()
        self._render_task: asyncio.Task | None = None
        self.updates = 0  # Markdown appends done while streaming (frames)
        self.tokens_fed = 0

    def compose(self) -> ComposeResult:
        yield Label(self.who, classes="reply-who")
        content = self.message.content if self.message is not None else ""
        yield Markdown(content, classes="reply-md")
        yield Static("", classes="reply-metrics", markup=False)
        yield Static("", classes="reply-error", markup=False)

    def on_mount(self) -> None:
        self.query_one(".reply-error").display = False
        if self.message is not None and (self.message.metrics or self.message.error):
            self._show_outcome(self.message)

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
        md = self.query_one(Markdown)
        while True:
            finished = self._finished.is_set()
            pause = FRAME_S
            if self._pending:
                chunk = "".join(self._pending)
                self._pending.clear()
                self._source_parts.append(chunk)
                t0 = time.perf_counter()
                await md.append(chunk)
                self.updates += 1
                # Long replies cost more per update (layout grows with the blocks): space
                # updates so rendering takes at most ~1/4 of the loop, keys stay responsive.
                pause = max(FRAME_S, RENDER_BUDGET_FACTOR * (time.perf_counter() - t0))
            if finished:
                return
            try:
                await asyncio.wait_for(self._finished.wait(), pause)
            except asyncio.TimeoutError:
                pass

    async def finish(self, message: Message) -> None:
        """The reply ended (complete, cancelled or failed): final text, metrics or error."""
        self.message = message
        self._finished.set()
        if self._render_task is not None:
            await self._render_task
            self._render_task = None
        md = self.query_one(Markdown)
        if "".join(self._source_parts) != message.content:
            await md.update(message.content)
        self.remove_class("streaming")
        self._show_outcome(message)

    def _show_outcome(self, message: Message) -> None:
        metrics = self.query_one(".reply-metrics", Static)
        metrics.update(message.metrics.line() if message.metrics else "")
        err = self.query_one(".reply-error", Static)
        if message.error is not None:
            err.update(f"✖ {message.error.message}")
            err.display = True
        if not message.content:
            self.query_one(Markdown).display = False

    @property
    def source(self) -> str:
        """The Markdown text shown (what was streamed in)."""
        return self.query_one(Markdown).source

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
