"""Help screen: every key of the app and of the tab in view."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEY_NAMES = {
    "question_mark": "?",
    "escape": "Esc",
    "enter": "Enter",
    "space": "Space",
    "tab": "Tab",
    "delete": "Del",
    "slash": "/",
}


def describe_key(key: str) -> str:
    """'question_mark,f1' → '? / F1'; 'ctrl+p' → 'Ctrl+P'."""
    out = []
    for part in key.split(","):
        *mods, base = part.strip().split("+")
        base = KEY_NAMES.get(base, base.upper() if re.fullmatch(r"f\d{1,2}", base) else base)
        if mods and len(base) == 1:
            base = base.upper()
        out.append("+".join([m.capitalize() for m in mods] + [base]))
    return " / ".join(out)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("[b]llmops — keys[/b]   (Esc closes; Ctrl+P opens the command palette)")
            for title, rows in self.sections:
                yield Static(title, classes="section")
                width = max((len(describe_key(k)) for k, _ in rows), default=0)
                yield Static("\n".join(f"  {describe_key(k).ljust(width)}  {d}" for k, d in rows))
