"""Chat core (no Textual): conversations, streaming a turn, per-reply metrics, store, export.

- :mod:`.model`: :class:`Conversation`, :class:`Message`, :class:`SamplingSettings`, :class:`ChatTarget`
- :mod:`.metrics`: :class:`ReplyMetrics` (TTFT, tok/s, tokens, finish reason), error mapping
- :mod:`.session`: :class:`ReplyRun` (stream one reply, cancel it), :func:`send_turn` (A/B too)
- :mod:`.store`: :class:`ConversationStore` (JSON files), :func:`to_markdown`
- :mod:`.targets`: profile targets probed on ``/v1/models``
"""

from llmops_tui.chat.metrics import ReplyError, ReplyMetrics, classify_error, metrics_from_record
from llmops_tui.chat.model import ChatTarget, Conversation, Message, SamplingSettings
from llmops_tui.chat.session import ClientPool, ReplyRun, build_request, send_turn, start_turn
from llmops_tui.chat.store import ConversationError, ConversationStore, to_markdown

__all__ = [
    "ChatTarget",
    "ClientPool",
    "Conversation",
    "ConversationError",
    "ConversationStore",
    "Message",
    "ReplyError",
    "ReplyMetrics",
    "ReplyRun",
    "SamplingSettings",
    "build_request",
    "classify_error",
    "metrics_from_record",
    "send_turn",
    "start_turn",
    "to_markdown",
]
