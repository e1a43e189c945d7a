"""The main window: header (host, GPUs, engines), five tabs, footer, command palette."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import TabbedContent, TabPane

from llmops_tui import __version__
from llmops_tui.telemetry.targets import running_engine_targets
from llmops_tui.ui.keys import bound_key, load_user_keymap
from llmops_tui.ui.messages import EngineRecords, GpusRead, Shared, post
from llmops_tui.ui.palette import Command, LlmopsCommands, own_bindings
from llmops_tui.ui.shell import (
    GPU_POLL_S,
    ShellFooter,
    ShellHeader,
    host_label,
    read_alt_digits_as_alt_keys,
)
from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.chat import ChatTab
from llmops_tui.ui.tabs.engines import EnginesTab
from llmops_tui.ui.tabs.loadtest import LoadTestTab
from llmops_tui.ui.tabs.models import ModelsTab
from llmops_tui.ui.tabs.monitor import MonitorTab
from llmops_tui.ui.threads import alive

if TYPE_CHECKING:
    from llmops_tui.demo.setup import DemoHooks
    from llmops_tui.supervisor.core import Supervisor
    from llmops_tui.telemetry.gpu import NvmlReader

TABS = [
    ("models", "Models"),
    ("engines", "Engines"),
    ("monitor", "Monitor"),
    ("chat", "Chat"),
    ("loadtest", "Load test"),
]
TAB_CLASSES: dict[str, type] = {
    "models": ModelsTab,
    "engines": EnginesTab,
    "monitor": MonitorTab,
    "chat": ChatTab,
    "loadtest": LoadTestTab,
}


def _freeze_gc() -> None:
    import gc

    gc.collect()
    gc.freeze()
    gc.enable()  # `llmops` starts the app with the collector off (cli._run_tui)


class LlmopsApp(App):
    TITLE = "llmops"
    SUB_TITLE = f"v{__version__}"
    CSS_PATH = CSS_PATHS  # ui/app.tcss and one ui/tabs/<tab>.tcss per tab (ui/styles.py)
    COMMANDS = App.COMMANDS | {LlmopsCommands}
    BINDINGS = [
        # One footer entry "1…5 Tabs" for the five number keys: the tab bar names the tabs,
        # and at 100 columns five entries pushed the tab's own keys and ? / q off the footer.
        Binding("1", "show_tab('models')", "Tabs", key_display="1…5", id="app.tab_models"),
        *(
            Binding(str(n), f"show_tab('{tab}')", label, show=False, id=f"app.tab_{tab}")
            for n, (tab, label) in enumerate(TABS[1:], 2)
        ),
        # Alt+N switches tabs even while typing in a text field (where N is typed); terminals
        # send it as ESC + digit, read as alt+N thanks to read_alt_digits_as_alt_keys().
        *(
            Binding(
                f"alt+{n}",
                f"show_tab('{tab}')",
                show=False,
                priority=True,
                id=f"app.tab_{tab}_alt",
            )
            for n, tab in enumerate(("models", "engines", "monitor", "chat", "loadtest"), 1)
        ),
        Binding("question_mark,f1", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(
        self,
        initial_tab: str = "engines",
        theme: str | None = None,
        *,
        supervisor: Supervisor | None = None,
        gpu_reader: NvmlReader | None = None,
        engines_poll_s: float = 1.0,
        gpu_poll_s: float = GPU_POLL_S,
        demo_hooks: DemoHooks | None = None,
    ) -> None:
        super().__init__()
        self.demo_hooks = demo_hooks  # None: the real demo steps (llmops_tui/demo/setup.py)
        read_alt_digits_as_alt_keys()
        self.initial_tab = initial_tab
        self.supervisor = supervisor  # None: the real one, made in a worker on first use
        self.gpu_reader = gpu_reader  # None: NVML, made in a worker on first use
        self.engines_poll_s = engines_poll_s
        self.gpu_poll_s = gpu_poll_s
        self.theme_errors: list[str] = []
        self.user_keymap: dict[str, str] = {}  # keymap.toml's, once read (ui/keys.py)
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

    def _pane(self, tab_id: str, widget):
        if tab_id == self.initial_tab:
            return widget
        from llmops_tui.ui.quitsafe import QuitSafeLazy

        return QuitSafeLazy(widget)

    def on_mount(self) -> None:
        for message in self.theme_errors:
            self.notify(message, title="Theme file skipped", severity="warning", timeout=10)
        self._focus_tab(self.initial_tab)
        load_user_keymap(self)  # keymap.toml, read in a thread; a missing file shows nothing
        self.call_after_refresh(self._start_gpu_reads)  # NVML loads after the first paint
        self.set_timer(1.0, self._warm_imports)
        # Once everything is mounted, move the startup objects out of the collector's sight:
        # full collections then stop pausing the UI for ~100 ms while a chat reply streams.
        self.set_timer(2.0, _freeze_gc)

    @work(thread=True, group="warm-imports")
    def _warm_imports(self) -> None:
        """Import, off the UI thread once the app is up, what was kept out of the cold start:
        Markdown rendering for the first chat reply (rich.markdown, pygments, markdown-it:
        ~40 ms) and the fit estimate of the Models tab's details."""
        import importlib

        for module in ("rich.markdown", "llmops_tui.chat.blocks", "llmops_tui.fit"):
            importlib.import_module(module)

    def _start_gpu_reads(self) -> None:
        self.read_gpus()
        if self.gpu_poll_s > 0:
            self.set_interval(self.gpu_poll_s, self.read_gpus)

    @work(thread=True, exclusive=True, group="header-gpus")
    def read_gpus(self) -> None:
        """GPU count and memory for the header, from NVML (never raises: "no GPU")."""
        if self.gpu_reader is None:
            from llmops_tui.ui import shell

            self.gpu_reader = shell.make_gpu_reader()
        try:
            snapshot = self.gpu_reader.read()
        except Exception:  # a reader that breaks must not take the header down
            return
        post(self, GpusRead(snapshot))  # dropped if the app closed while NVML was read

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id in TAB_CLASSES:
            self._focus_tab(event.pane.id)

    def _focus_tab(self, tab_id: str, tries: int = 20) -> None:
        """Focus inside the tab shown, so that its keys work at once (with no focus only
        the app's keys do: Ctrl+G on the Load test tab and d on Models did nothing).
        Chat focuses its prompt itself; Monitor has no keys of its own."""
        tabs = self.query(TAB_CLASSES[tab_id])
        if not tabs:  # a lazily mounted tab, mounting now
            if tries and alive(self):
                self.call_after_refresh(self._focus_tab, tab_id, tries - 1)
            return
        take_focus = getattr(tabs.first(), "take_focus", None)
        if take_focus is not None:
            take_focus()

    # Who shows the shared data that bubbles up to the app besides the producer's ancestors
    # (ui/messages.py): the app hands each of them a copy that stops there.
    RELAYS: ClassVar[dict[type[Shared], tuple[type[Widget], ...]]] = {
        EngineRecords: (ShellHeader, ChatTab, LoadTestTab),
        GpusRead: (ShellHeader,),
    }

    @on(EngineRecords)
    @on(GpusRead)
    def _relay(self, event: Shared) -> None:
        # The app may be closing (q pressed in the first second, seen in CI): no header then.
        for kind in self.RELAYS.get(type(event), ()):
            for widget in self.query(kind):
                widget.post_message(event.relayed())

    def watch_theme(self, theme: str) -> None:
        if getattr(self, "_remember_theme", False):
            from llmops_tui.themes import save_setting

            save_setting("theme", theme)

    def compose(self) -> ComposeResult:
        yield ShellHeader(__version__, host_label(), id="shell-header")
        with TabbedContent(initial=self.initial_tab, id="tabs"):
            # The tab in view is mounted for the first paint; the others right after it
            # (textual.lazy.Lazy, as Textual recommends for tab panes): a faster first screen.
            with TabPane("Models", id="models"):
                yield self._pane("models", ModelsTab())
            with TabPane("Engines", id="engines"):
                yield self._pane("engines", EnginesTab(self.supervisor, poll_s=self.engines_poll_s))
            with TabPane("Monitor", id="monitor"):
                yield self._pane("monitor", MonitorTab(targets=running_engine_targets))
            with TabPane("Chat", id="chat"):
                yield self._pane("chat", ChatTab())
            with TabPane("Load test", id="loadtest"):
                yield self._pane("loadtest", LoadTestTab())
        yield ShellFooter()

    def action_help(self) -> None:
        from llmops_tui.ui.help import HelpScreen

        sections: list[tuple[str, list[tuple[str, str]]]] = []
        # The keys in force: keymap.toml may have moved them (ui/keys.py).
        tab_keys = {b.id: bound_key(self, b) for b in self.BINDINGS if b.key.isdigit()}
        app_rows = [(tab_keys.get(f"app.tab_{tab}", "?"), f"{label} tab") for tab, label in TABS]
        app_rows += [
            (bound_key(self, b), b.description)
            for b in self.BINDINGS
            if b.description and not b.key.isdigit()
        ]
        app_rows.append(("alt+1…5", "switch tab, also while typing"))
        app_rows.append(("ctrl+p", "command palette (every action, searchable)"))
        sections.append(("Everywhere", app_rows))
        tabs = self.query_one(TabbedContent)
        pane = tabs.active_pane
        if pane is not None:
            rows: list[tuple[str, str]] = []
            for widget in pane.walk_children():
                for b in own_bindings(type(widget)):
                    if not isinstance(b, Binding) or not b.description:
                        continue
                    if b.action.startswith("app."):  # a footer hint (Chat's Alt+1…5)
                        continue
                    # The footer's label is short; the tooltip says it in full.
                    row = (bound_key(self, b), b.tooltip or b.description)
                    if row not in rows:
                        rows.append(row)
            if rows:
                label = dict(TABS).get(str(tabs.active), str(tabs.active))
                sections.append((f"{label} tab", rows))
        self.push_screen(HelpScreen(sections))

    def palette_commands(self) -> list[Command]:
        """What the command palette offers (ui/palette.py asks for it; it never imports the app)."""
        from llmops_tui.ui.palette import engine_commands, tab_key_commands

        out = engine_commands(self.query_one(EnginesTab), self.action_show_tab)
        out.append(("New chat", self.action_new_chat, "Chat: start a new conversation"))
        out.append(("Run last load test", self.action_last_load_test, "Load test tab"))
        for theme in sorted(self.available_themes):
            out.append((f"Switch theme: {theme}", partial(setattr, self, "theme", theme), "Theme"))
        for tab_id, label in TABS:
            out.append((f"Switch to tab {label}", partial(self.action_show_tab, tab_id), "Tab"))
        out += tab_key_commands(self, TABS, self.action_show_tab)
        out.append(("Help: keys", self.action_help, "?"))
        return out

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active != tab and self.focused is not None:
            # Let go of the focus first: Textual would hand it to the next focusable widget of
            # the pane being hidden, and focus inside a pane switches back to that pane.
            self.screen.set_focus(None)
        tabs.active = tab

    def show_ready_chat(self) -> None:
        """The Chat tab, looking again for running engines (the demo's, once it is ready)."""

        # After the refresh: a modal screen just closed gives the focus back to where it
        # was (the Engines table) once its callback returned; the Chat tab takes it then.
        def go() -> None:
            self.action_show_tab("chat")
            for chat in self.query(ChatTab):
                chat.take_focus()
                chat.action_refresh_targets()

        self.set_timer(0.05, go)

    def action_new_chat(self) -> None:
        self.action_show_tab("chat")
        self.query_one(ChatTab).action_new_conversation()

    def action_last_load_test(self) -> None:
        """Run the Load test tab's form again (it keeps the last run's settings)."""
        self.action_show_tab("loadtest")
        self.query_one(LoadTestTab).start()
