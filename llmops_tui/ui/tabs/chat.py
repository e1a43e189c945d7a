"""Chat tab: pick an engine (or two, A/B), talk to it, see each reply's TTFT and tok/s.

The network work is in :mod:`llmops_tui.chat` (no Textual); this tab only renders.
Streaming never blocks the UI: streams are read and parsed on a network thread
(:class:`NetworkThread`), deltas go to a buffer that each reply renders at most every
50 ms, re-rendering only its live tail (see :class:`ReplyView`); saving runs in a thread.
"""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Collapsible, Input, Select, Static

from llmops_tui.chat.model import (
    ChatTarget,
    Conversation,
    Message,
    parse_settings,
    settings_fields,
)
from llmops_tui.chat.session import (
    ClientPool,
    NetworkThread,
    ReplyRun,
    StreamFactory,
    start_turn,
)
from llmops_tui.chat.store import ConversationStore
from llmops_tui.chat.targets import TargetSource
from llmops_tui.ui.messages import EngineRecords, ReadyEngines
from llmops_tui.ui.tabs.chat_pickers import OpenConversationScreen, TargetRow
from llmops_tui.ui.tabs.chat_widgets import ChatColumn, ReplyView, UserBubble
from llmops_tui.ui.threads import alive
from llmops_tui.ui.toggles import MarkedCheckbox

EMPTY_HINT = (
    "Pick an engine above (Ctrl+R looks for running ones) or type a base URL and model, "
    "then write a message.\n"
    "Esc stops a reply · Ctrl+N new chat · Ctrl+O open a saved one · Ctrl+S export Markdown · "
    "Ctrl+Y copy the last reply (c on a focused reply) · A/B sends each prompt to two engines."
)

SETTING_FIELDS = (
    ("temperature", "temperature", "server default"),
    ("top_p", "top p", "server default"),
    ("max_tokens", "max tokens", "512"),
    ("stop", "stop (a,b)", ""),
    ("seed", "seed", ""),
    ("extra", "extra body JSON", '{"ignore_eos": true}'),
)


class ChatTab(Vertical):
    BINDINGS = [
        # Short footer labels (100 columns hold them all); the help screen shows the tooltips.
        Binding(
            "escape",
            "stop",
            "Stop",
            tooltip="Stop the reply (the server aborts it)",
            id="chat.stop",
        ),
        Binding(
            "ctrl+n",
            "new_conversation",
            "New",
            tooltip="New conversation",
            id="chat.new_conversation",
        ),
        Binding(
            "ctrl+o",
            "open_conversation",
            "Open",
            tooltip="Open a saved conversation",
            id="chat.open_conversation",
        ),
        Binding(
            "ctrl+s",
            "export",
            "Export",
            tooltip="Export the conversation as Markdown",
            id="chat.export",
        ),
        Binding("ctrl+y", "copy_last", "Copy", tooltip="Copy the last reply", id="chat.copy_last"),
        Binding(
            "ctrl+r",
            "refresh_targets",
            "Find engines",
            tooltip="Look for running engines",
            id="chat.refresh_targets",
        ),
        # Digits type into the prompt here: the footer names the keys that switch tabs (the
        # app's alt+1…5 do the switching; an entry under their own key would be hidden by
        # them, so this one sits on alt+0, which the app leaves free).
        Binding(
            "alt+0",
            "app.show_tab('models')",
            "Tabs",
            key_display="Alt+1…5",
            id="chat.tabs_hint",
        ),
    ]

    def __init__(
        self,
        targets: TargetSource | None = None,
        probe: bool = True,
        stream_factory: StreamFactory | None = None,
        store: ConversationStore | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        from llmops_tui.chat.targets import profile_targets

        self._target_source: TargetSource = targets or profile_targets
        self._probe = probe
        self._pool = ClientPool()
        self._factory: StreamFactory = stream_factory or self._pool
        # Real streams are read on a network thread, so that parsing thousands of events/s
        # never delays a key press; a given factory (tests, benchmarks) runs on the UI loop.
        self._network = NetworkThread() if stream_factory is None else None
        self._store = store or ConversationStore()
        self.conversation = Conversation()
        self.runs: list[ReplyRun] = []
        self._turn_active = False
        self.targets_found: list[ChatTarget] = []
        self._ready_engines = ReadyEngines()  # engines ready at the last EngineRecords

    # layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="chat-targets"):
            with Horizontal(id="target-a-row"):
                yield TargetRow("A", id="target-a")
                yield MarkedCheckbox("A/B", id="ab-toggle")
            yield TargetRow("B", id="target-b")
        with Collapsible(title="System prompt and sampling", id="chat-settings"):
            yield Input(placeholder="system prompt", id="system-prompt")
            with Horizontal(id="settings-row"):
                for key, label, hint in SETTING_FIELDS:
                    field = Input(placeholder=hint, id=f"set-{key}")
                    field.border_title = label
                    yield field
        with Horizontal(id="columns"):
            yield ChatColumn(id="col-a")
            yield ChatColumn(id="col-b")
        yield Static("", id="chat-problems", markup=False)
        yield Input(placeholder="Message — Enter sends, Esc stops the reply", id="prompt")
        yield Static("", id="chat-status", markup=False)

    def on_mount(self) -> None:
        self._apply_settings_to_fields()
        self._show_hint()
        self._set_status("looking for running engines…")
        self.find_targets()

    def on_show(self) -> None:
        # Take the focus only when the tab is shown: a hidden Input holding focus would
        # swallow the app's number keys for switching tabs.
        self.take_focus()

    def take_focus(self) -> None:
        self.query_one("#prompt", Input).focus()

    async def on_unmount(self) -> None:
        for run in self.runs:
            run.cancel()
        if self._network is None:
            await self._pool.aclose()
            return
        try:
            await asyncio.wait_for(
                asyncio.wrap_future(self._network.submit(self._pool.aclose())), 5
            )
        except (asyncio.TimeoutError, RuntimeError):
            pass
        await asyncio.to_thread(self._network.close)

    # targets ----------------------------------------------------------------------------

    @work(exclusive=True, group="chat-targets")
    async def find_targets(self) -> None:
        from llmops_tui.chat.targets import live_targets

        try:
            candidates = await asyncio.to_thread(lambda: list(self._target_source()))
        except Exception as exc:  # a target source is outside code: say what went wrong
            self._set_status(f"could not list engines: {exc}")
            return
        if not self._probe:
            found = candidates
        elif self._network is not None:
            # On the network thread: importing httpx and one TLS context per probe client
            # (~150 ms of CPU) would otherwise hold the UI loop in the app's first second.
            found = await asyncio.wrap_future(self._network.submit(live_targets(candidates)))
        else:
            found = await live_targets(candidates)
        if not alive(self):  # the app quit while the engines were probed
            return
        self.targets_found = found
        for row in self.query(TargetRow):
            row.set_choices(found)
        row_a = self.query_one("#target-a", TargetRow)
        if found and row_a.target() is None:
            row_a.query_one(Select).value = 0
            row_a.fill(found[0])
        if found:
            self._set_status(f"{len(found)} engine(s) answering · Ctrl+R looks again")
        else:
            self._set_status("no running engine found: type a base URL and model, or Ctrl+R")

    def action_refresh_targets(self) -> None:
        self.find_targets()

    @on(EngineRecords)
    def _engines_changed(self, event: EngineRecords) -> None:
        """Look for targets again when an engine becomes ready or stops being ready (the
        Engines tab's poll, relayed by the app), not on every poll; not while a reply
        streams (the next poll tries again)."""
        if self._ready_engines.changed(event, defer=self.busy):
            self.find_targets()

    @on(Checkbox.Changed, "#ab-toggle")
    def _toggle_ab(self, event: Checkbox.Changed) -> None:
        self.set_class(event.value, "ab")

    @property
    def ab(self) -> bool:
        return self.has_class("ab")

    # settings ---------------------------------------------------------------------------

    def _apply_settings_to_fields(self) -> None:
        conv = self.conversation
        self.query_one("#system-prompt", Input).value = conv.system_prompt
        for key, value in settings_fields(conv.settings).items():
            self.query_one(f"#set-{key}", Input).value = value

    def _read_form(self) -> tuple[list[ChatTarget], list[str]]:
        problems: list[str] = []
        targets = []
        rows = ["#target-a", "#target-b"] if self.ab else ["#target-a"]
        for rid in rows:
            t = self.query_one(rid, TargetRow).target()
            if t is None:
                problems.append(
                    f"target {rid[-1].upper()}: pick an engine or type base URL and model"
                )
            else:
                targets.append(t)
        fields = {key: self.query_one(f"#set-{key}", Input).value for key, _, _ in SETTING_FIELDS}
        settings, bad = parse_settings(fields)
        problems += bad
        if not problems:
            self.conversation.settings = settings
            self.conversation.system_prompt = self.query_one("#system-prompt", Input).value
        return targets, problems

    # sending ----------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A turn is streaming or being rendered/saved."""
        return self._turn_active or any(not r.done for r in self.runs)

    @on(Input.Submitted, "#prompt")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value
        if not text.strip():
            return
        if self.busy:
            self.notify("a reply is still streaming: Esc stops it", severity="warning")
            return
        targets, problems = self._read_form()
        self.query_one("#chat-problems", Static).update("\n".join(problems))
        if problems:
            return
        event.input.value = ""
        self.send(text, targets)

    def send(self, text: str, targets: list[ChatTarget]) -> None:
        conv = self.conversation
        conv.targets = list(targets)
        columns = self._columns()
        views: list[ReplyView] = []

        def on_delta(column: int, delta: str) -> None:
            views[column].feed(delta)

        self.runs = start_turn(conv, text, self._factory, on_delta, self._network)
        self._turn_active = True
        mounts = []
        for column in range(len(self.runs)):
            col = columns[column]
            col.remove_children(".column-empty")
            view = ReplyView(self._who(column))
            views.append(view)
            mounts.append(col.mount_all([UserBubble(text), view]))
        self._stream(self.runs, views, mounts)

    def _who(self, column: int) -> str:
        t = self.conversation.targets[column]
        letter = f"{'AB'[column]} · " if self.conversation.ab else ""
        return f"{letter}{t.model}" + (f" ({t.name})" if t.name else "")

    def _columns(self) -> list[ChatColumn]:
        return [self.query_one("#col-a", ChatColumn), self.query_one("#col-b", ChatColumn)]

    @work(group="chat-stream")
    async def _stream(self, runs: list[ReplyRun], views: list[ReplyView], mounts: list) -> None:
        try:
            await self._stream_turn(runs, views, mounts)
        finally:
            self._turn_active = False

    async def _stream_turn(
        self, runs: list[ReplyRun], views: list[ReplyView], mounts: list
    ) -> None:
        for mounted in mounts:
            await mounted  # the reply widgets exist before the first delta is rendered
        for view in views:
            view.start_stream()

        async def one(run: ReplyRun, view: ReplyView) -> None:
            try:
                message = await run.run()
            finally:
                await view.finish(run.message)
            if message.error is not None:
                self.notify(message.error.message, title="reply failed", severity="error")

        await asyncio.gather(*(one(r, v) for r, v in zip(runs, views)))
        await self._save()

    async def _save(self) -> None:
        conv = self.conversation
        try:
            await asyncio.to_thread(self._store.save, conv)
        except OSError as exc:
            self._set_status(f"could not save the conversation: {exc}")
            return
        turns = sum(1 for m in conv.messages if m.role == "user")
        self._set_status(f"“{conv.title}” · {turns} turn(s) · saved")

    def action_stop(self) -> None:
        if not any(not r.done for r in self.runs):
            return
        for run in self.runs:
            run.cancel()
        self._set_status("stopping: the connection is closed, the engine aborts the request")

    # conversations ----------------------------------------------------------------------

    def action_new_conversation(self) -> None:
        if self.busy:
            self.notify("a reply is still streaming: Esc stops it", severity="warning")
            return
        old = self.conversation
        self.conversation = Conversation(
            system_prompt=old.system_prompt, settings=old.settings, targets=old.targets
        )
        self._render_conversation()
        self._show_hint()
        self._set_status("new conversation")

    def action_open_conversation(self) -> None:
        if self.busy:
            self.notify("a reply is still streaming: Esc stops it", severity="warning")
            return

        def opened(conv_id: str | None) -> None:
            if conv_id:
                self.open_conversation(conv_id)

        self.app.push_screen(OpenConversationScreen(self._store), opened)

    @work(group="chat-open")
    async def open_conversation(self, conv_id: str) -> None:
        from llmops_tui.chat.store import ConversationError

        try:
            conv = await asyncio.to_thread(self._store.load, conv_id)
        except ConversationError as exc:
            self.notify(str(exc), title="cannot open", severity="error")
            return
        self.load_conversation(conv)

    def load_conversation(self, conv: Conversation) -> None:
        """Show a stored conversation; its targets and settings become the current ones."""
        self.conversation = conv
        self.query_one("#ab-toggle", Checkbox).value = conv.ab
        self.set_class(conv.ab, "ab")
        for row_id, target in zip(("#target-a", "#target-b"), conv.targets):
            self.query_one(row_id, TargetRow).fill(target)
        self._apply_settings_to_fields()
        self._render_conversation()
        self._set_status(f"“{conv.title}” · reopened")

    def _render_conversation(self) -> None:
        columns = self._columns()
        for col in columns:
            col.remove_children()
        conv = self.conversation
        n_cols = max(1, len(conv.targets))
        batches: list[list] = [[] for _ in columns]
        for m in conv.messages:
            if m.role == "user":
                for c in range(n_cols):
                    batches[c].append(UserBubble(m.content))
            elif m.column < len(columns):
                batches[m.column].append(ReplyView(self._who_safe(m), m))
        for col, batch in zip(columns, batches):
            if batch:
                col.mount_all(batch)

    def _who_safe(self, m: Message) -> str:
        return self._who(m.column) if m.column < len(self.conversation.targets) else "assistant"

    @work(group="chat-export")
    async def action_export(self) -> None:
        conv = self.conversation
        if not conv.messages:
            self.notify("nothing to export yet", severity="warning")
            return
        try:
            path = await asyncio.to_thread(self._store.export_markdown, conv)
        except OSError as exc:
            self.notify(f"export failed: {exc}", severity="error")
            return
        self.notify(f"exported to {path}", title="Markdown")

    def action_copy_last(self) -> None:
        focused = self.app.focused
        view = focused if isinstance(focused, ReplyView) else None
        if view is None:
            view = self.query_one("#col-a", ChatColumn).last_reply()
        if view is None:
            self.notify("no reply to copy yet", severity="warning")
            return
        view.action_copy()

    def _show_hint(self) -> None:
        self.query_one("#col-a", ChatColumn).mount(Static(EMPTY_HINT, classes="column-empty"))

    def _set_status(self, text: str) -> None:
        self.query_one("#chat-status", Static).update(text)
