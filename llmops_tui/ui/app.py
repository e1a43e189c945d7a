"""The main window: header, five tabs, footer."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from llmops_tui import __version__
from llmops_tui.ui.tabs.chat import ChatTab
from llmops_tui.ui.tabs.engines import EnginesTab
from llmops_tui.ui.tabs.placeholder import PlaceholderTab

TABS = [
    ("models", "Models"),
    ("engines", "Engines"),
    ("monitor", "Monitor"),
    ("chat", "Chat"),
    ("loadtest", "Load test"),
]


class LlmopsApp(App):
    TITLE = "llmops"
    SUB_TITLE = f"v{__version__}"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("1", "show_tab('models')", "Models"),
        Binding("2", "show_tab('engines')", "Engines"),
        Binding("3", "show_tab('monitor')", "Monitor"),
        Binding("4", "show_tab('chat')", "Chat"),
        Binding("5", "show_tab('loadtest')", "Load test"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, initial_tab: str = "engines") -> None:
        super().__init__()
        self.initial_tab = initial_tab

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial=self.initial_tab, id="tabs"):
            with TabPane("Models", id="models"):
                yield PlaceholderTab(
                    "Models",
                    "Hugging Face cache, Hub search, downloads and fit estimates land here.",
                )
            with TabPane("Engines", id="engines"):
                yield EnginesTab()
            with TabPane("Monitor", id="monitor"):
                yield PlaceholderTab(
                    "Monitor", "GPU panes (NVML) and engine KV-cache panes land here."
                )
            with TabPane("Chat", id="chat"):
                yield ChatTab()
            with TabPane("Load test", id="loadtest"):
                yield PlaceholderTab(
                    "Load test", "Latency and throughput runs with live plots land here."
                )
        yield Footer()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
