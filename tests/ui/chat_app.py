"""A one-tab app around ChatTab with fake targets and scripted streams (frozen metrics)."""

from __future__ import annotations

from chat_fakes import FakeStream, fixed_record
from textual.app import App, ComposeResult
from textual.widgets import Input

from llmops_tui.chat.model import ChatTarget
from llmops_tui.ui.styles import CSS_PATHS
from llmops_tui.ui.tabs.chat import ChatTab

TARGETS = [
    ChatTarget("tiny-vllm-cpu", "http://127.0.0.1:8000", "tiny-llama"),
    ChatTarget("sglang-8b", "http://127.0.0.1:30000", "llama-8b"),
]

FIRST_REPLY = [
    "Here is ",
    "a function:\n\n",
    "```python\n",
    "def add(a, b):\n",
    "    return a + b\n",
    "```\n\n",
    "It **adds** two numbers.",
]


class Script:
    """Stream factory: each call pops the next scripted stream (or builds one per target)."""

    def __init__(self, streams=None, per_model=None) -> None:
        self.streams = list(streams or [])
        self.per_model = per_model or {}
        self.made: list[FakeStream] = []
        self.requests = []

    def __call__(self, target, request):
        self.requests.append(request)
        if target.model in self.per_model:
            stream = self.per_model[target.model]()
        else:
            stream = self.streams.pop(0)
        self.made.append(stream)
        return stream


def ok_stream(deltas=FIRST_REPLY, **record) -> FakeStream:
    return FakeStream(list(deltas), fixed_record(**record))


class ChatApp(App):
    CSS_PATH = CSS_PATHS  # the app's stylesheets (ui/styles.py)

    def __init__(self, factory, targets=TARGETS, store=None) -> None:
        super().__init__()
        self.factory = factory
        self.targets = targets
        self.store = store

    def on_ready(self) -> None:
        # A blinking cursor would make snapshots depend on the moment they are taken.
        for field in self.query(Input):
            field.cursor_blink = False

    def compose(self) -> ComposeResult:
        yield ChatTab(
            targets=lambda: self.targets, probe=False, stream_factory=self.factory, store=self.store
        )


async def send(pilot, text: str, wait: float = 0.4) -> None:
    pilot.app.query_one("#prompt").focus()
    await pilot.press(*text, "enter")
    await pilot.pause(wait)
