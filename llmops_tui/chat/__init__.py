"""Chat core (no Textual): conversations, streaming a turn, per-reply metrics, store, export.

- :mod:`.model`: :class:`Conversation`, :class:`Message`, :class:`SamplingSettings`, :class:`ChatTarget`
- :mod:`.metrics`: :class:`ReplyMetrics` (TTFT, tok/s, tokens, finish reason), error mapping
- :mod:`.session`: :class:`ReplyRun` (stream one reply, cancel it), :func:`send_turn` (A/B too)
- :mod:`.store`: :class:`ConversationStore` (JSON files), :func:`to_markdown`
- :mod:`.targets`: profile targets probed on ``/v1/models``

Import names from the module that defines them: this ``__init__`` imports nothing
(tests/faults/test_input_import_race.py).
"""
