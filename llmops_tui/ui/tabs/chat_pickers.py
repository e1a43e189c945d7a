"""The Chat tab's pickers: an engine row (profile pick or URL + model) and the
"open a saved conversation" dialog."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from llmops_tui.chat.model import ChatTarget
from llmops_tui.chat.store import ConversationStore
from llmops_tui.ui.quitsafe import QuitSafeSelect
from llmops_tui.ui.threads import to_ui


class TargetRow(Horizontal):
    """A target: a running engine from the list, or any base URL + model typed in."""

    def __init__(self, letter: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.letter = letter

    def compose(self) -> ComposeResult:
        yield Label(self.letter, classes="target-letter")
        yield QuitSafeSelect([], prompt="pick an engine", classes="target-select")
        yield Input(placeholder="base URL http://host:port", classes="target-url")
        yield Input(placeholder="model", classes="target-model")

    def set_choices(self, targets: list[ChatTarget]) -> None:
        current = self.target()
        select = self.query_one(Select)
        select.set_options(
            [
                (t.name or f"{t.model} @ {t.base_url.split('://')[-1]}", i)
                for i, t in enumerate(targets)
            ]
        )
        self._choices = targets
        # A second look (Ctrl+R, the demo once ready) keeps the engine shown picked: new
        # options blank the Select while the fields still name that engine.
        for i, t in enumerate(targets):
            if current is not None and (t.base_url, t.model) == (current.base_url, current.model):
                select.value = i
                break

    @on(Select.Changed)
    def _picked(self, event: Select.Changed) -> None:
        choices = getattr(self, "_choices", [])
        if isinstance(event.value, int) and event.value < len(choices):
            self.fill(choices[event.value])

    def fill(self, target: ChatTarget) -> None:
        self._picked_target = target
        self.query_one(".target-url", Input).value = target.base_url
        self.query_one(".target-model", Input).value = target.model

    def target(self) -> ChatTarget | None:
        url = self.query_one(".target-url", Input).value.strip()
        model = self.query_one(".target-model", Input).value.strip()
        if not url or not model:
            return None
        picked: ChatTarget | None = getattr(self, "_picked_target", None)
        if picked is not None and (picked.base_url, picked.model) == (url, model):
            return picked
        return ChatTarget("", url, model)


class OpenConversationScreen(ModalScreen[str | None]):
    """Pick a stored conversation to reopen (Esc closes)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Close", id="open_conversation.close")]

    def __init__(self, store: ConversationStore) -> None:
        super().__init__()
        self.store = store

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Open a conversation (Enter), Esc to close")
            yield OptionList(id="conversations")
            yield Static("", id="open-problems")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True)
    def load(self) -> None:
        summaries, problems = self.store.list()
        to_ui(self, self._show, summaries, problems)

    def _show(self, summaries, problems) -> None:
        import time

        ol = self.query_one(OptionList)
        for s in summaries:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(s.updated_at))
            ol.add_option(
                Option(f"{when}  {s.title}  ({s.turns} turns, {', '.join(s.models)})", s.id)
            )
        if not summaries:
            ol.add_option(Option("no stored conversations", None, disabled=True))
        else:
            ol.highlighted = 0
        ol.focus()
        self.query_one("#open-problems", Static).update("\n".join(problems[:3]))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
