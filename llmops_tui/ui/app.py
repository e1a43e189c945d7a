"""The main window: header, five tabs, footer."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from llmops_tui import __version__
from llmops_tui.telemetry.targets import running_engine_targets
from llmops_tui.ui.tabs.chat import ChatTab
from llmops_tui.ui.tabs.engines import EnginesTab
from llmops_tui.ui.tabs.loadtest import LoadTestTab
from llmops_tui.ui.tabs.models import ModelsTab
from llmops_tui.ui.tabs.monitor import MonitorTab

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
    CSS_PATH = str(Path(__file__).parent / "app.tcss")
    BINDINGS = [
        Binding("1", "show_tab('models')", "Models"),
        Binding("2", "show_tab('engines')", "Engines"),
        Binding("3", "show_tab('monitor')", "Monitor"),
        Binding("4", "show_tab('chat')", "Chat"),
        Binding("5", "show_tab('loadtest')", "Load test"),
        # Alt+N switches tabs even while typing in a text field (where N is typed).
        *(
            Binding(f"alt+{n}", f"show_tab('{tab}')", show=False, priority=True)
            for n, tab in enumerate(("models", "engines", "monitor", "chat", "loadtest"), 1)
        ),
        Binding("question_mark,f1", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, initial_tab: str = "engines", theme: str | None = None) -> None:
        super().__init__()
        self.initial_tab = initial_tab
        self.theme_errors: list[str] = []
        self._install_themes(theme)

    def _install_themes(self, requested: str | None) -> None:
        from textual.theme import Theme

        from llmops_tui.themes import DEFAULT_THEME, load_themes, remembered_theme

        specs, self.theme_errors = load_themes()
        for spec in specs:
            self.register_theme(
                Theme(name=spec.name, dark=spec.dark, variables=spec.variables, **spec.colors)
            )
        wanted = requested or remembered_theme()
        if wanted in self.available_themes:
            self.theme = wanted
        elif DEFAULT_THEME in self.available_themes:
            self.theme = DEFAULT_THEME
        self._remember_theme = requested is None

    def on_mount(self) -> None:
        for message in self.theme_errors:
            self.notify(message, title="Theme file skipped", severity="warning", timeout=10)

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "_remember_theme", False):
            from llmops_tui.themes import save_setting

            save_setting("theme", theme)

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial=self.initial_tab, id="tabs"):
            with TabPane("Models", id="models"):
                yield ModelsTab()
            with TabPane("Engines", id="engines"):
                yield EnginesTab()
            with TabPane("Monitor", id="monitor"):
                yield MonitorTab(targets=running_engine_targets)
            with TabPane("Chat", id="chat"):
                yield ChatTab()
            with TabPane("Load test", id="loadtest"):
                yield LoadTestTab()
        yield Footer()

    def action_help(self) -> None:
        from llmops_tui.ui.help import HelpScreen

        sections: list[tuple[str, list[tuple[str, str]]]] = []
        app_rows = [(b.key, b.description) for b in self.BINDINGS if b.description]
        app_rows.append(("alt+1…5", "switch tab, also while typing"))
        app_rows.append(("ctrl+p", "command palette (every action, searchable)"))
        sections.append(("Everywhere", app_rows))
        tabs = self.query_one(TabbedContent)
        pane = tabs.active_pane
        if pane is not None:
            rows: list[tuple[str, str]] = []
            for widget in pane.walk_children():
                if not type(widget).__module__.startswith("llmops_tui."):
                    continue  # Textual's own widget keys (cursor moves) are not listed
                for b in getattr(widget, "BINDINGS", []):
                    if isinstance(b, Binding) and b.description:
                        rows.append((b.key, b.description))
            if rows:
                sections.append((f"{tabs.active.capitalize()} tab", rows))
        self.push_screen(HelpScreen(sections))

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
