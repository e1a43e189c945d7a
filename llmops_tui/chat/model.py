"""The conversation: system prompt, sampling settings, one or two targets (A/B), messages."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from llmops_tui.chat.metrics import ReplyError, ReplyMetrics

USER = "user"
ASSISTANT = "assistant"


@dataclass(frozen=True)
class ChatTarget:
    """Where replies come from: an OpenAI-compatible server and the model name it serves."""

    name: str
    base_url: str
    model: str
    api_key_env: str | None = None  # environment variable holding the API key (never the key)

    @property
    def label(self) -> str:
        return self.name if self.name else f"{self.model} @ {self.base_url}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatTarget:
        return cls(
            name=str(data.get("name", "")),
            base_url=str(data["base_url"]),
            model=str(data["model"]),
            api_key_env=data.get("api_key_env"),
        )


@dataclass
class SamplingSettings:
    """Sampling parameters sent with every turn; None means "the server's default"."""

    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = 512
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # raw extra body fields (ignore_eos, …)

    def body_fields(self) -> dict[str, Any]:
        """Fields other than model/messages/max_tokens/temperature (those have ChatRequest slots)."""
        out: dict[str, Any] = {}
        if self.top_p is not None:
            out["top_p"] = self.top_p
        if self.stop:
            out["stop"] = list(self.stop)
        if self.seed is not None:
            out["seed"] = self.seed
        out.update(self.extra)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "stop": list(self.stop),
            "seed": self.seed,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SamplingSettings:
        return cls(
            temperature=data.get("temperature"),
            top_p=data.get("top_p"),
            max_tokens=data.get("max_tokens"),
            stop=list(data.get("stop") or []),
            seed=data.get("seed"),
            extra=dict(data.get("extra") or {}),
        )


@dataclass
class Message:
    """A user prompt, or a reply in one column (0 = A, 1 = B) with its metrics or error.

    A reply that failed keeps whatever text arrived before the failure.
    """

    role: str  # "user" | "assistant"
    content: str = ""
    column: int = 0
    metrics: ReplyMetrics | None = None
    error: ReplyError | None = None
    created_at: float = field(default_factory=time.time)

    @property
    def cancelled(self) -> bool:
        return self.metrics is not None and self.metrics.finish_reason == "cancelled"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content, "column": self.column}
        out["created_at"] = self.created_at
        if self.metrics is not None:
            out["metrics"] = self.metrics.to_dict()
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        role = data.get("role")
        if role not in (USER, ASSISTANT):
            raise ValueError(f"role: expected 'user' or 'assistant', got {role!r}")
        return cls(
            role=role,
            content=str(data.get("content", "")),
            column=int(data.get("column", 0)),
            metrics=ReplyMetrics.from_dict(data["metrics"]) if data.get("metrics") else None,
            error=ReplyError.from_dict(data["error"]) if data.get("error") else None,
            created_at=float(data.get("created_at", 0.0)),
        )


def new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass
class Conversation:
    """A multi-turn chat with one target, or an A/B chat with two (same prompts, two columns)."""

    targets: list[ChatTarget] = field(default_factory=list)
    system_prompt: str = ""
    settings: SamplingSettings = field(default_factory=SamplingSettings)
    messages: list[Message] = field(default_factory=list)
    title: str = ""
    id: str = field(default_factory=new_id)
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    @property
    def ab(self) -> bool:
        return len(self.targets) > 1

    def add_user(self, text: str) -> Message:
        msg = Message(USER, text)
        self.messages.append(msg)
        if not self.title:
            first_line = text.strip().splitlines()[0] if text.strip() else "untitled"
            self.title = first_line[:60]
        self.updated_at = time.time()
        return msg

    def add_reply(self, column: int = 0) -> Message:
        msg = Message(ASSISTANT, "", column=column)
        self.messages.append(msg)
        self.updated_at = time.time()
        return msg

    def replies(self, column: int | None = None) -> list[Message]:
        return [
            m
            for m in self.messages
            if m.role == ASSISTANT and (column is None or m.column == column)
        ]

    def api_messages(self, column: int = 0) -> list[dict[str, str]]:
        """The messages to send for the next reply in ``column``.

        Failed replies are not sent, nor the prompt they answered (except the last
        prompt, the one being answered now): the engine sees a clean alternation of
        user and assistant turns. A cancelled reply's partial text is kept, as shown.
        """
        out: list[dict[str, str]] = []
        if self.system_prompt.strip():
            out.append({"role": "system", "content": self.system_prompt})
        pending_user: str | None = None
        for m in self.messages:
            if m.role == USER:
                pending_user = m.content
            elif m.column == column:
                if m.metrics is None and m.error is None:
                    continue  # a reply still streaming (this very request)
                if m.error is None and pending_user is not None and m.content:
                    out.append({"role": USER, "content": pending_user})
                    out.append({"role": ASSISTANT, "content": m.content})
                pending_user = None
        if pending_user is not None:
            out.append({"role": USER, "content": pending_user})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "id": self.id,
            "title": self.title,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "system_prompt": self.system_prompt,
            "settings": self.settings.to_dict(),
            "targets": [t.to_dict() for t in self.targets],
            "messages": [m.to_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Conversation:
        return cls(
            id=str(data["id"]),
            title=str(data.get("title", "")),
            created_at=float(data.get("created_at", 0.0)),
            updated_at=float(data.get("updated_at", 0.0)),
            system_prompt=str(data.get("system_prompt", "")),
            settings=SamplingSettings.from_dict(data.get("settings") or {}),
            targets=[ChatTarget.from_dict(t) for t in data.get("targets") or []],
            messages=[Message.from_dict(m) for m in data.get("messages") or []],
        )


# Extra-body fields that would break "one streamed reply per turn", and why.
_FIXED_FIELDS = {
    "stream": "the chat always streams",
    "messages": "the conversation is the messages",
    "model": "the model is the target's",
}


def _extra_problems(extra: dict[str, Any]) -> list[str]:
    out = [
        f"extra body: {key!r} cannot be set here ({why})"
        for key, why in _FIXED_FIELDS.items()
        if key in extra
    ]
    n = extra.get("n", 1)
    if n != 1:
        out.append(
            f"extra body: n={n!r} asks for several replies per turn and the chat shows one "
            "(compare two engines with A/B instead)"
        )
    return out


def parse_settings(fields: dict[str, str]) -> tuple[SamplingSettings, list[str]]:
    """Sampling settings from text fields (as typed in the UI); empty means "server default".

    Keys: temperature, top_p, max_tokens, stop (comma-separated, ``\\n`` for a newline),
    seed, extra (a JSON object). Returns the settings and one message per bad field.
    """
    import json

    problems: list[str] = []

    def number(key: str, kind: type, low: float | None = None, high: float | None = None):
        text = fields.get(key, "").strip()
        if not text:
            return None
        try:
            value = kind(text)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            problems.append(f"{key.replace('_', ' ')}: expected {what}, got {text!r}")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            problems.append(f"{key.replace('_', ' ')}: expected {low} to {high}, got {text}")
            return None
        return value

    temperature = number("temperature", float, 0.0, 2.0)
    top_p = number("top_p", float, 0.0, 1.0)
    max_tokens = number("max_tokens", int, 1, 10_000_000)
    seed = number("seed", int, -(2**63), 2**63 - 1)
    stop_text = fields.get("stop", "")
    stop = [s.replace("\\n", "\n") for s in stop_text.split(",") if s.strip()] if stop_text else []
    extra: dict[str, Any] = {}
    extra_text = fields.get("extra", "").strip()
    if extra_text:
        try:
            value = json.loads(extra_text)
        except ValueError as exc:
            problems.append(f"extra body: not valid JSON ({exc})")
        else:
            if isinstance(value, dict):
                extra = value
                problems.extend(_extra_problems(extra))
            else:
                problems.append(f"extra body: expected a JSON object, got {type(value).__name__}")
    settings = SamplingSettings(
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        stop=stop,
        seed=seed,
        extra=extra,
    )
    return settings, problems


def settings_fields(s: SamplingSettings) -> dict[str, str]:
    """The text fields that :func:`parse_settings` reads back into ``s``."""
    import json

    def text(v: object) -> str:
        return "" if v is None else str(v)

    return {
        "temperature": text(s.temperature),
        "top_p": text(s.top_p),
        "max_tokens": text(s.max_tokens),
        "stop": ",".join(x.replace("\n", "\\n") for x in s.stop),
        "seed": text(s.seed),
        "extra": json.dumps(s.extra) if s.extra else "",
    }
