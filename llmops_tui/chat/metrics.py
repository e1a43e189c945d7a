"""Per-reply metrics and user-fit error messages, computed from a streamed :class:`RequestRecord`.

Definitions (the same as ``vllm bench serve``, so chat numbers compare with load tests):

- TTFT: request sent → first chunk carrying content.
- E2E: request sent → end of the stream.
- tok/s: the decode rate, ``(completion_tokens − 1) / (E2E − TTFT)``: the first token
  is excluded (its time is TTFT), so this is ``1 / TPOT``. Undefined (None) for
  replies of fewer than two tokens.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from llmops_tui.client.records import RequestRecord

# Error kinds, from the most specific to the most generic.
CONTEXT_TOO_LONG = "context_too_long"
UNKNOWN_MODEL = "unknown_model"
BAD_REQUEST = "bad_request"
SERVER_ERROR = "server_error"
CONNECTION_REFUSED = "connection_refused"
INTERRUPTED = "interrupted"  # the engine stopped mid-reply (error event or connection drop)
TIMEOUT = "timeout"
HTTP_ERROR = "http_error"

CANCELLED = "cancelled"  # not an error: the user stopped the reply

_CONTEXT_RE = re.compile(
    r"maximum context length|longer than the maximum model length|"
    r"context length|too many tokens|max_tokens.*too large|input.*too long",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReplyMetrics:
    """What one reply measured; stored with the reply, shown in its metrics line."""

    ttft_s: float | None = None
    e2e_s: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = ""  # "usage" (server) | "chunks" (counted content chunks)
    finish_reason: str | None = None

    @property
    def tokens_per_s(self) -> float | None:
        n, ttft, e2e = self.completion_tokens, self.ttft_s, self.e2e_s
        if n is None or n < 2 or ttft is None or e2e is None or e2e <= ttft:
            return None
        return (n - 1) / (e2e - ttft)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyMetrics:
        known = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def line(self) -> str:
        """``TTFT 38 ms · 71.2 tok/s · in 12 · out 64 · stop`` (dashes where unknown)."""
        ttft = "—" if self.ttft_s is None else _ms(self.ttft_s)
        tps = self.tokens_per_s
        rate = "—" if tps is None else f"{tps:,.1f}"
        tin = "—" if self.prompt_tokens is None else f"{self.prompt_tokens:,}"
        tout = "—" if self.completion_tokens is None else f"{self.completion_tokens:,}"
        if self.completion_tokens is not None and self.token_source == "chunks":
            tout += "~"  # counted from chunks: the server sent no usage
        finish = self.finish_reason or "—"
        return f"TTFT {ttft} · {rate} tok/s · in {tin} · out {tout} · {finish}"


def _ms(seconds: float) -> str:
    ms = seconds * 1000
    return f"{ms:,.0f} ms" if ms >= 10 else f"{ms:.1f} ms"


def metrics_from_record(rec: RequestRecord, cancelled: bool = False) -> ReplyMetrics:
    completion = rec.completion_tokens
    source = rec.token_source
    if completion is None and rec.chunk_times:
        completion, source = len(rec.chunk_times), "chunks"
    finish = CANCELLED if cancelled else rec.finish_reason
    if finish is None and rec.error:
        finish = "error"
    return ReplyMetrics(
        ttft_s=rec.ttft,
        e2e_s=(rec.end - rec.start) if rec.end > 0 else None,
        prompt_tokens=rec.prompt_tokens,
        completion_tokens=completion,
        token_source=source,
        finish_reason=finish,
    )


@dataclass(frozen=True)
class ReplyError:
    """A failed reply, said for a person: ``kind`` for code, ``message`` for the screen."""

    kind: str
    message: str
    detail: str = ""  # the server's own words

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyError:
        return cls(
            str(data.get("kind", HTTP_ERROR)),
            str(data.get("message", "")),
            str(data.get("detail", "")),
        )


def _server_words(error: str) -> str:
    """The server's message without our ``HTTP 400: BadRequestError:`` prefix."""
    text = re.sub(r"^HTTP \d{3}: ", "", error)
    return re.sub(r"^[A-Za-z]+Error: ", "", text).strip()


def classify_error(rec: RequestRecord, base_url: str = "", model: str = "") -> ReplyError | None:
    """Map a failed record to a :class:`ReplyError`; None when the reply did not fail."""
    err = rec.error
    if err is None and rec.status in (0, 200):
        return None
    if err == "cancelled":
        return None
    err = err or f"HTTP {rec.status}"
    words = _server_words(err)
    where = f" at {base_url}" if base_url else ""
    status = rec.status
    if status == 0 and rec.connect_error:
        if err.startswith("cannot connect"):
            return ReplyError(
                CONNECTION_REFUSED,
                f"cannot connect to the engine{where}: is it running? ({words})",
                err,
            )
        return ReplyError(
            CONNECTION_REFUSED, f"the engine{where} closed the connection before answering", err
        )
    if err.startswith("timed out"):
        return ReplyError(TIMEOUT, f"no answer from the engine{where}: {err}", err)
    if status == 404:
        if "does not exist" in words or "model" in words.lower():
            return ReplyError(
                UNKNOWN_MODEL,
                f"the engine{where} does not serve model '{model}': {words}",
                err,
            )
        return ReplyError(HTTP_ERROR, f"not found (404){where}: {words}", err)
    if status in (400, 413, 422):
        if _CONTEXT_RE.search(words):
            return ReplyError(
                CONTEXT_TOO_LONG,
                f"context too long: {words} Start a new conversation, shorten the "
                "system prompt or lower max tokens.",
                err,
            )
        return ReplyError(BAD_REQUEST, f"the engine rejected the request: {words}", err)
    if status >= 500:
        return ReplyError(SERVER_ERROR, f"the engine failed (HTTP {status}): {words}", err)
    if status == 200:
        if "closed by server" in err:
            return ReplyError(
                INTERRUPTED,
                "the engine stopped mid-reply: connection lost; partial reply kept",
                err,
            )
        return ReplyError(INTERRUPTED, f"the engine stopped mid-reply: {words}", err)
    if 400 <= status < 500:
        return ReplyError(HTTP_ERROR, f"HTTP {status}{where}: {words}", err)
    return ReplyError(HTTP_ERROR, words, err)
