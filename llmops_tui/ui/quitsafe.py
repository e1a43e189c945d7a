"""Textual widgets that give up quietly when the app quits while they mount.

- ``Lazy`` mounts its widget after the first refresh. A quit (``q``) in the app's first
  few hundred milliseconds left it mounting into a pane already torn down: a
  ``MountError: Can't mount widget(s) before TabPane(id='models') is mounted``
  traceback on exit (seen in tmux, quitting 0.3 s after start).
- ``Select`` looks up its overlay child when mounted; mounted as the app stops, the
  child is already gone: ``NoMatches: No nodes match 'SelectOverlay'``.
"""

from __future__ import annotations

from textual import events
from textual.lazy import Lazy
from textual.widget import MountError, Widget
from textual.widgets import Select

from llmops_tui.ui.threads import alive


class QuitSafeLazy(Lazy):
    async def mount_composed_widgets(self, widgets: list[Widget]) -> None:
        parent = self.parent
        if not isinstance(parent, Widget):
            return
        widget = self._replace_widget

        async def mount() -> None:
            if not alive(parent):
                return
            try:
                await parent.mount(widget, after=self)
                await self.remove()
            except MountError:
                if alive(parent):
                    raise

        self.call_after_refresh(mount)


class QuitSafeSelect(Select):
    def _on_mount(self, event: events.Mount) -> None:
        # Textual calls each class's ``_on_mount`` down the MRO (Select's after this one)
        # unless the default is prevented.
        if not alive(self):
            event.prevent_default()
