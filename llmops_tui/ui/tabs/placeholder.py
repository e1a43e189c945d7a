"""A tab whose feature has not landed yet: says so plainly, with the CLI that exists."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class PlaceholderTab(Vertical):
    DEFAULT_CSS = """
    PlaceholderTab { padding: 1 2; }
    PlaceholderTab .title { text-style: bold; margin-bottom: 1; }
    PlaceholderTab .body { color: $text-muted; }
    """

    def __init__(self, title: str, body: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self._title = title
        self._body = body

    def compose(self) -> ComposeResult:
        yield Static(self._title, classes="title")
        yield Static(self._body, classes="body")
