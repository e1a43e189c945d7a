"""The app shell's pieces: the one-line header and the command palette's actions."""

from __future__ import annotations

import socket
from enum import Enum
from typing import TYPE_CHECKING, Any

from textual import on
from textual.widgets import Footer, Static

from llmops_tui.ui.messages import EngineRecords, GpusRead

if TYPE_CHECKING:
    from textual.app import ComposeResult
    from textual.screen import Screen

    from llmops_tui.supervisor.records import EngineRecord
    from llmops_tui.telemetry.gpu import GpuSnapshot, NvmlReader

GPU_POLL_S = 2.0


def make_gpu_reader() -> NvmlReader:
    from llmops_tui.telemetry.gpu import NvmlReader

    return NvmlReader()


class AltDigit(Enum):
    """Key names for Textual's sequence table (it reads ``.value`` of each entry)."""

    ALT_0 = "alt+0"
    ALT_1 = "alt+1"
    ALT_2 = "alt+2"
    ALT_3 = "alt+3"
    ALT_4 = "alt+4"
    ALT_5 = "alt+5"
    ALT_6 = "alt+6"
    ALT_7 = "alt+7"
    ALT_8 = "alt+8"
    ALT_9 = "alt+9"


def read_alt_digits_as_alt_keys() -> None:
    """Make Alt+0…9 from a terminal reach the app as ``alt+0`` … ``alt+9``.

    xterm, tmux (``send-keys M-1``), GNOME Terminal, iTerm2 with "Esc+" and most terminals
    behind SSH send Alt+1 as ESC followed by "1". Textual maps exactly those two-byte
    sequences to the characters macOS types for Option+digit (ESC 1 → "¡", ESC 2 → "™",
    ESC 3 → "£" …: a WezTerm-on-macOS rule in ``textual._ansi_sequences``), so an
    ``alt+1`` binding never fired and a text field got "¡" typed into it. Here those
    entries name the alt keys instead: the key comes at once (a sequence missing from the
    table would wait Textual's escape delay, 100 ms, for more bytes) and types nothing.
    """
    from textual._ansi_sequences import ANSI_SEQUENCES_KEYS

    for key in AltDigit:
        ANSI_SEQUENCES_KEYS["\x1b" + key.value[-1]] = (key,)


def host_label() -> str:
    return socket.gethostname().split(".")[0]


def gpu_summary(snapshot: GpuSnapshot | None) -> str:
    """``2 GPUs · 12.3/160.0 GiB`` or ``no GPU (reason)``."""
    if snapshot is None:
        return "GPUs: …"
    if not snapshot.available or not snapshot.gpus:
        reason = (snapshot.reason or "").split(":")[0].strip()
        return "no GPU" + (f" ({reason[:30]})" if reason else "")
    used = sum(g.memory_used or 0 for g in snapshot.gpus)
    total = sum(g.memory_total or 0 for g in snapshot.gpus)
    n = len(snapshot.gpus)
    gib = 1024**3
    return f"{n} GPU{'s' if n != 1 else ''} · {used / gib:.1f}/{total / gib:.1f} GiB"


def engines_summary(records: list[EngineRecord] | None) -> str:
    if records is None:
        return "engines: …"
    running = [r for r in records if r.alive_phase]
    ready = sum(1 for r in running if r.phase == "ready")
    if not running:
        return "no engine running"
    starting = len(running) - ready
    text = f"{len(running)} engine{'s' if len(running) != 1 else ''} running"
    return text + (f" ({starting} starting)" if starting else "")


class ShellHeader(Static):
    """``llmops v0.1 · host · 2 GPUs · 12.3/160.0 GiB · 1 engine running``."""

    def __init__(self, version: str, host: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.version = version
        self.host = host
        self.gpus: GpuSnapshot | None = None
        self.records: list[EngineRecord] | None = None

    def on_mount(self) -> None:
        self.redraw()

    @on(GpusRead)
    def _gpus_read(self, event: GpusRead) -> None:
        self.show_gpus(event.snapshot)

    @on(EngineRecords)
    def _records_read(self, event: EngineRecords) -> None:
        self.show_records(event.records)

    def show_gpus(self, snapshot: GpuSnapshot) -> None:
        self.gpus = snapshot
        self.redraw()

    def show_records(self, records: list[EngineRecord]) -> None:
        self.records = records
        self.redraw()

    def redraw(self) -> None:
        self.update(
            f"[b]llmops[/b] v{self.version} · {self.host} · {gpu_summary(self.gpus)}"
            f" · {engines_summary(self.records)}"
        )


class ShellFooter(Footer):
    """Textual's Footer, rebuilt only when the keys it shows change.

    Textual's Footer recomposes (unmounts and mounts every key widget, then restyles each)
    on every bindings update: every focus change, tab switch and screen change, several
    times per frame at start-up. Measured: 15 rebuilds between the tabs being mounted and
    the first key press being shown, ~150 ms of the UI loop. Here the updates of one frame
    coalesce into one check, and the footer is rebuilt only if the shown keys differ.
    """

    _check_pending = False
    _shown: tuple[Any, ...] | None = None

    def shown_keys(self) -> tuple[Any, ...]:
        """What the footer would show: key, action, description, enabled, tooltip of each."""
        return tuple(
            (binding.key, binding.action, binding.description, enabled, tooltip, binding.show)
            for (_, binding, enabled, tooltip) in self.screen.active_bindings.values()
            if binding.show or binding.action == "command_palette"
        )

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self.shown_keys()
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._check_pending:
            self._check_pending = True
            # call_later, not call_after_refresh: the latter waits for a repaint, and one
            # pending when a modal screen opened never ran (the footer kept the Engines keys
            # on the Chat tab after the demo window closed, every later change ignored).
            self.call_later(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._check_pending = False
        if not self.is_attached:
            return
        if self.shown_keys() != self._shown:
            await self.recompose()
