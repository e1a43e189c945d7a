"""Conversations on disk: one JSON file each under ``<data>/conversations/``; Markdown export."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from llmops_tui.chat.model import ASSISTANT, Conversation
from llmops_tui.config import paths

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


class ConversationError(Exception):
    """A stored conversation that cannot be read (the message names the file and why)."""


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated_at: float
    turns: int
    models: tuple[str, ...]
    path: Path


def conversations_dir() -> Path:
    return paths().data / "conversations"


class ConversationStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else conversations_dir()

    def path_for(self, conv_id: str) -> Path:
        if not ID_RE.match(conv_id):
            raise ConversationError(f"conversation id {conv_id!r}: expected letters, digits, . _ -")
        return self.root / f"{conv_id}.json"

    def save(self, conv: Conversation) -> Path:
        """Write atomically (temp file + rename): a crash never leaves half a file."""
        path = self.path_for(conv.id)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path, json.dumps(conv.to_dict(), ensure_ascii=False, indent=1))
        return path

    def load(self, conv_id: str) -> Conversation:
        return self.load_file(self.path_for(conv_id))

    @staticmethod
    def load_file(path: Path) -> Conversation:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConversationError(f"{path}: no such conversation") from None
        except json.JSONDecodeError as exc:
            raise ConversationError(
                f"{path}:{exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from None
        except OSError as exc:
            raise ConversationError(f"{path}: cannot read ({exc.strerror})") from None
        if not isinstance(data, dict):
            raise ConversationError(f"{path}: expected a JSON object, got {type(data).__name__}")
        try:
            return Conversation.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise ConversationError(f"{path}: not a conversation: {what}") from None

    def list(self) -> tuple[list[ConversationSummary], list[str]]:
        """Stored conversations, newest first, and one problem line per unreadable file."""
        out: list[ConversationSummary] = []
        problems: list[str] = []
        if not self.root.is_dir():
            return out, problems
        for path in self.root.glob("*.json"):
            try:
                conv = self.load_file(path)
            except ConversationError as exc:
                problems.append(str(exc))
                continue
            out.append(
                ConversationSummary(
                    id=conv.id,
                    title=conv.title or "untitled",
                    updated_at=conv.updated_at,
                    turns=sum(1 for m in conv.messages if m.role == "user"),
                    models=tuple(t.model for t in conv.targets),
                    path=path,
                )
            )
        out.sort(key=lambda s: s.updated_at, reverse=True)
        return out, problems

    def export_markdown(self, conv: Conversation, path: Path | None = None) -> Path:
        path = path if path is not None else self.root / f"{conv.id}.md"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_private(path, to_markdown(conv))
        return path


def _write_private(path: Path, text: str) -> None:
    """Replace ``path`` atomically with ``text``, readable by the owner only (conversations
    hold prompts and replies): a temp file (mkstemp: 0600) renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _column_name(conv: Conversation, column: int) -> str:
    letter = "AB"[column] if conv.ab and column < 2 else ""
    target = conv.targets[column] if column < len(conv.targets) else None
    who = target.model if target else "assistant"
    return f"{letter} · {who}" if letter else who


def to_markdown(conv: Conversation) -> str:
    """The conversation as Markdown: settings, then each prompt and its reply (or replies)."""
    lines = [f"# {conv.title or 'Conversation'}", ""]
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conv.created_at))
    lines.append(f"- Started: {when}")
    for i, t in enumerate(conv.targets):
        prefix = f"Target {'AB'[i]}" if conv.ab else "Target"
        lines.append(
            f"- {prefix}: `{t.model}` at {t.base_url}" + (f" ({t.name})" if t.name else "")
        )
    s = conv.settings
    shown = [
        f"{k} {v}"
        for k, v in (
            ("temperature", s.temperature),
            ("top_p", s.top_p),
            ("max tokens", s.max_tokens),
            ("seed", s.seed),
        )
        if v is not None
    ]
    if s.stop:
        shown.append("stop " + ", ".join(repr(x) for x in s.stop))
    if shown:
        lines.append("- Sampling: " + ", ".join(shown))
    lines.append("")
    if conv.system_prompt.strip():
        lines += ["## System", "", conv.system_prompt.strip(), ""]
    for m in conv.messages:
        if m.role != ASSISTANT:
            lines += ["## User", "", m.content.strip(), ""]
            continue
        lines += [f"### {_column_name(conv, m.column)}", ""]
        if m.content:
            lines += [m.content.rstrip(), ""]
        if m.error is not None:
            lines += [f"> **Error ({m.error.kind}):** {m.error.message}", ""]
        if m.metrics is not None:
            lines += [f"*{m.metrics.line()}*", ""]
    return "\n".join(lines).rstrip() + "\n"
