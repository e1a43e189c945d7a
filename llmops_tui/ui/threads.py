"""Handing a worker thread's result to the UI, unless the app or the widget is gone.

Thread workers (cache scans, profile loads, engine probes, a load test) can finish
after the user quit or the widget was removed. ``App.call_from_thread`` then fails in
several ways: "App is not running", "Event loop is closed", or the callback itself
raises ``NoMatches`` because the widget's children were already torn down. Each ended
as a traceback on quit (seen by quitting just after start). :func:`to_ui` drops the
call in those cases and delivers it otherwise, still waiting for it like
``call_from_thread`` (so a thread that streams updates cannot flood the UI's queue).

Textual's liveness flags (``_exit``, ``_closing``, ``_closed``) are private; if a
Textual release renames them, :func:`alive` falls back to the public ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.dom import DOMNode


def alive(node: DOMNode) -> bool:
    """Whether the app runs and ``node`` is still in its DOM (not being removed)."""
    app = node if isinstance(node, App) else _app_of(node)
    if app is None or not app.is_running or getattr(app, "_exit", False):
        return False
    if getattr(app, "_closing", False) or getattr(app, "_closed", False):
        return False
    if node is app:
        return True
    if not node.is_attached:
        return False
    return not (getattr(node, "_closing", False) or getattr(node, "_closed", False))


def _app_of(node: DOMNode) -> App | None:
    try:
        return node.app
    except Exception:  # no active app: the node was never mounted, or the app is gone
        return None


def to_ui(node: DOMNode, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """From a thread: run ``callback(*args, **kwargs)`` on the UI thread if ``node`` is
    still alive there. Returns whether it ran. Errors from the callback propagate (a
    real bug stays loud) unless the node died meanwhile."""
    if not alive(node):
        return False
    app = node if isinstance(node, App) else node.app
    ran = False

    def guarded() -> Any:
        nonlocal ran
        if not alive(node):
            return None
        ran = True
        return callback(*args, **kwargs)

    try:
        app.call_from_thread(guarded)
    except Exception:
        if alive(node):
            raise
        return False
    return ran
