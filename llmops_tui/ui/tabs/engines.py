"""Engines tab: profiles found on disk and their validation state."""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static


def display_path(path: Path) -> str:
    """A path as short as it can be said: relative to the working dir, else with ~."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        home = str(Path.home())
        text = str(path)
        return "~" + text[len(home) :] if text.startswith(home + "/") else text


class EnginesTab(Vertical):
    DEFAULT_CSS = """
    EnginesTab { padding: 0 1; }
    EnginesTab #profiles-title { text-style: bold; padding: 1 0 0 0; }
    EnginesTab DataTable { height: 1fr; }
    EnginesTab #profile-detail { height: auto; max-height: 8; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Profiles", id="profiles-title")
        table = DataTable(id="profiles", cursor_type="row", zebra_stripes=True)
        table.add_columns("Name", "Engine", "Model", "Address", "TP", "Status")
        yield table
        yield Static("loading profiles…", id="profile-detail")

    def on_mount(self) -> None:
        self.load_profiles()

    @work(thread=True, exclusive=True, group="profiles")
    def load_profiles(self) -> None:
        from llmops_tui.profiles import list_profiles

        entries = list_profiles()
        self.app.call_from_thread(self._show, entries)

    def _show(self, entries) -> None:
        table = self.query_one("#profiles", DataTable)
        table.clear()
        self._entries = {e.name: e for e in entries}
        for e in entries:
            if e.profile:
                p = e.profile
                model = p.model if len(p.model) <= 36 else p.model[:35] + "…"
                table.add_row(
                    p.name,
                    p.engine,
                    model,
                    f"{p.host}:{p.port}",
                    str(p.tensor_parallel),
                    "ok",
                    key=e.name,
                )
            else:
                n = sum(1 for i in e.issues if i.severity == "error")
                table.add_row(e.name, "?", "", "", "", f"{n} error(s)", key=e.name)
        detail = self.query_one("#profile-detail", Static)
        detail.update(f"{len(entries)} profile(s)" if entries else "no profiles found")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        entry = getattr(self, "_entries", {}).get(event.row_key.value if event.row_key else None)
        if entry is None:
            return
        detail = self.query_one("#profile-detail", Static)
        if entry.profile:
            p = entry.profile
            detail.update(f"{display_path(entry.path)}\n{p.description or p.model}")
        else:
            detail.update("\n".join(str(i) for i in entry.issues[:6]))
