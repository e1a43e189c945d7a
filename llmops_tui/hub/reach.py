"""Is the Hub reachable? One quick look (name lookup, then a TCP connect, ~1 s at most)
before a search or a model-info call, so that an offline box gets one clear answer at once
instead of huggingface_hub's five retries (24 s and 11 lines of "Retrying in 8s")."""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlparse

from llmops_tui.hub.errors import HubError
from llmops_tui.hub.settings import HubSettings

REACH_TIMEOUT_S = 1.0
OFFLINE_HINT = (
    "What works offline: `llmops models list` (the cache), `llmops models info` and "
    "`llmops models fit` on a cached repo or a local model folder (fit PATH)."
)


def unreachable_reason(endpoint: str, timeout: float = REACH_TIMEOUT_S) -> str | None:
    """Why ``endpoint`` cannot be reached now (None: a TCP connection opened)."""
    url = urlparse(endpoint)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    found: list = []

    def lookup() -> None:
        try:
            found.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as exc:
            found.append(exc)

    t = threading.Thread(target=lookup, daemon=True)  # getaddrinfo has no timeout of its own
    t.start()
    t.join(timeout)
    if not found:
        return f"no answer for the name {host} in {timeout:.0f} s"
    if isinstance(found[0], OSError):
        return f"the name {host} does not resolve ({found[0].strerror or found[0]})"
    last: OSError | None = None
    for family, kind, proto, _, addr in found[0][:3]:
        try:
            with socket.socket(family, kind, proto) as s:
                s.settimeout(timeout)
                s.connect(addr)
                return None
        except OSError as exc:
            last = exc
    return f"no connection to {host}:{port} ({getattr(last, 'strerror', None) or last})"


def require_hub(settings: HubSettings, what: str) -> None:
    """Raise HubError("offline", …) at once when the Hub cannot be reached."""
    reason = unreachable_reason(settings.endpoint)
    if reason is not None:
        raise HubError(
            "offline",
            f"offline: {what} needs {settings.endpoint}, and {reason}. {OFFLINE_HINT}",
        )
