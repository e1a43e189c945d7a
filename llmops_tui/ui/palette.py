"""The command palette: every action of the app and its tabs, searchable (Ctrl+P).

The app hands the palette its commands (``LlmopsApp.palette_commands``, the
:class:`CommandSource` seam): this module never imports the app, its tab list or its action
names. The builders here turn what they are given (the Engines tab, the tab list, a
``show_tab`` callable) into :data:`Command` entries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import BindingType
    from textual.widget import Widget

    from llmops_tui.ui.tabs.engines import EnginesTab

# (title, callback, help text)
Command = tuple[str, Callable[[], Any], str]

LOADTEST_PANES = (("lt-run", "Run"), ("lt-history", "History"), ("lt-bakeoff", "Bake-off"))


@runtime_checkable
class CommandSource(Protocol):
    """What the palette asks the app for."""

    def palette_commands(self) -> list[Command]: ...


def own_bindings(cls: type) -> list[BindingType]:
    """Bindings declared by our classes in ``cls``'s MRO, not Textual's own widget keys
    (cursor moves, a Select's "show menu") that a subclass such as QuitSafeSelect inherits."""
    out: list[BindingType] = []
    for klass in cls.__mro__:
        if klass.__module__.startswith("llmops_tui."):
            out.extend(klass.__dict__.get("BINDINGS", []))
    return out


def engine_commands(engines: EnginesTab, show_tab: Callable[[str], Any]) -> list[Command]:
    """Launch/edit each profile, a new profile, stop/restart/swap/logs of each engine."""

    def on_engines(action: str, *args: Any) -> Callable[[], None]:
        def go() -> None:
            show_tab("engines")
            getattr(engines, action)(*args)

        return go

    out: list[Command] = []
    for name, entry in engines.entries.items():
        if entry.profile is not None:
            out.append((f"Launch profile {name}", on_engines("action_launch", name), "Engines"))
            out.append((f"Edit profile {name}", partial(engines._open_form, entry), "Engines"))
    out.append(("New profile", engines.action_new_profile, "Engines: open the profile form"))
    for name, rec in engines.records.items():
        if rec.alive_phase:
            out.append((f"Stop engine {name}", on_engines("action_stop", name), rec.phase))
            out.append((f"Restart engine {name}", on_engines("action_restart", name), rec.phase))
            out.append((f"Swap engine {name} for…", on_engines("action_swap", name), rec.phase))
        out.append((f"Open logs of {name}", on_engines("action_open_logs", name), rec.phase))
    return out


def tab_key_commands(
    app: App, tabs: Sequence[tuple[str, str]], show_tab: Callable[[str], Any]
) -> list[Command]:
    """Every key of every tab (history's compare and export, the load test's start and
    stop, Models' download…) as a palette entry: the tab is shown, then the key's action
    runs on the widget that holds it. The Load test's sub-tabs are entries too."""
    from textual.binding import Binding
    from textual.widgets import TabbedContent

    from llmops_tui.ui.keys import keymapped

    out: list[Command] = []
    seen: set[str] = set()
    tabbed = app.query_one("#tabs", TabbedContent)
    for tab_id, label in tabs:
        try:
            pane = tabbed.get_pane(tab_id)
        except Exception:
            continue
        for widget in pane.walk_children():
            for b in own_bindings(type(widget)):
                if not isinstance(b, Binding) or not b.description or b.action.startswith("app."):
                    continue
                title = f"{label}: {b.tooltip or b.description}"
                if title in seen:
                    continue
                seen.add(title)
                key = app.get_key_display(keymapped(app, b))  # keymap.toml's key
                out.append((title, partial(_run_key, app, show_tab, tab_id, widget, b.action), key))
    for pane_id, name in LOADTEST_PANES:
        out.append(
            (
                f"Load test: show {name}",
                partial(_run_key, app, show_tab, "loadtest", None, f"show_pane('{pane_id}')"),
                "Ctrl+T cycles",
            )
        )
    return out


def _run_key(
    app: App, show_tab: Callable[[str], Any], tab_id: str, widget: Widget | None, action: str
) -> None:
    from llmops_tui.ui.tabs.loadtest import LoadTestTab

    show_tab(tab_id)
    if widget is None:
        widget = app.query_one(LoadTestTab)
    else:  # a key of a Load test sub-tab (History's): that sub-tab first
        panes = [a.id for a in widget.ancestors if a.id in dict(LOADTEST_PANES)]
        if panes:
            app.query_one(LoadTestTab).action_show_pane(panes[0])
    app.call_later(app.run_action, action, widget)


class LlmopsCommands(Provider):
    """Command palette entries for every action the app hands over."""

    def _commands(self) -> list[Command]:
        source = self.app
        if not isinstance(source, CommandSource):
            return []
        try:
            return source.palette_commands()
        except Exception:  # the Engines tab is not mounted (a test app): offer nothing
            return []

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)
