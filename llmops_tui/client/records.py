"""Requests, the record of one streamed request, and token counting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

ENDPOINTS = ("completions", "chat")
DEFAULT_TIMEOUT_S = 600.0


class ClientError(Exception):
    """A request that could not be made (bad URL, connection refused, …)."""


# --------------------------------------------------------------------------- records


@dataclass
class RequestRecord:
    """Everything measured about one streamed request (times are ``perf_counter`` seconds)."""

    start: float = 0.0
    first_token: float | None = None  # arrival of the first chunk with content
    chunk_times: list[float] = field(default_factory=list)  # every content chunk, first included
    end: float = 0.0
    status: int = 0  # HTTP status; 0 when no response arrived
    error: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = ""  # "usage" | "tokenizer" | "chunks"
    finish_reason: str | None = None
    text: str = ""  # only filled when the caller asks for it (chat, tokenizer counting)
    connect_error: bool = False  # nothing reached the server (refused, reset before a response)
    response_id: str | None = (
        None  # the stream's ``id`` (vLLM ``cmpl-…``): find it in the engine log
    )

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def ttft(self) -> float | None:
        return None if self.first_token is None else self.first_token - self.start

    @property
    def e2e(self) -> float:
        return self.end - self.start

    @property
    def itls(self) -> list[float]:
        t = self.chunk_times
        return [b - a for a, b in pairwise(t)]

    def output_tokens(self) -> int:
        if self.completion_tokens is not None:
            return self.completion_tokens
        return len(self.chunk_times)


# --------------------------------------------------------------------------- requests


@dataclass
class CompletionRequest:
    """``POST /v1/completions`` with a text (or token-id) prompt."""

    model: str
    prompt: str | list[int]
    max_tokens: int = 16
    ignore_eos: bool = False
    temperature: float | None = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    path = "/v1/completions"
    content_key = b'"text"'

    def body(self) -> dict[str, Any]:
        return _streaming_body(
            {"model": self.model, "prompt": self.prompt, "max_tokens": self.max_tokens}, self
        )


@dataclass
class ChatRequest:
    """``POST /v1/chat/completions`` with a list of messages."""

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = 16
    ignore_eos: bool = False
    temperature: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    path = "/v1/chat/completions"
    content_key = b'"content"'

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"model": self.model, "messages": self.messages}
        if self.max_tokens is not None:
            out["max_tokens"] = self.max_tokens
        return _streaming_body(out, self)


Request = CompletionRequest | ChatRequest


def _streaming_body(out: dict[str, Any], req: Request) -> dict[str, Any]:
    """``out`` plus what both request kinds send: streaming with usage, sampling, extras."""
    out["stream"] = True
    out["stream_options"] = {"include_usage": True}
    if req.temperature is not None:
        out["temperature"] = req.temperature
    if req.ignore_eos:
        out["ignore_eos"] = True
    out.update(req.extra)
    return out


def count_with(tokenize: Callable[[str], int] | None, rec: RequestRecord) -> None:
    """Fill ``completion_tokens`` when the server sent no usage: tokenizer count, else chunks."""
    if rec.completion_tokens is not None:
        return
    if tokenize is not None and rec.text:
        rec.completion_tokens = tokenize(rec.text)
        rec.token_source = "tokenizer"
    else:
        rec.completion_tokens = len(rec.chunk_times)
        rec.token_source = "chunks"
