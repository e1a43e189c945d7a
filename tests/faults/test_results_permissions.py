"""What llmops writes about your runs and conversations is readable by you only: results.db,
the files keeping runs the database could not take, conversations and their Markdown exports
(also when an export replaces an older, world-readable one)."""

from __future__ import annotations

import os
import stat

import pytest

from llmops_tui.bench.fallback import keep_run
from llmops_tui.bench.store import ResultStore
from llmops_tui.chat.model import ChatTarget, Conversation
from llmops_tui.chat.store import ConversationStore
from llmops_tui.config import paths


@pytest.fixture(autouse=True)
def usual_umask():
    """The common umask 022: files are world-readable unless llmops says otherwise."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_results_db_and_kept_runs_are_owner_only():
    db = paths().results_db
    ResultStore(db).save(target={}, workload={}, load={}, summary={}, requests=[])
    assert mode(db) == 0o600
    kept = keep_run({"summary": {}, "requests": []}, db)
    assert mode(kept) == 0o600 and mode(kept.parent) == 0o700


def test_conversations_and_exports_are_owner_only(tmp_path):
    store = ConversationStore()
    conv = Conversation(targets=[ChatTarget("a", "http://127.0.0.1:8000", "m")])
    conv.add_user("a private prompt")
    assert mode(store.save(conv)) == 0o600
    md = store.export_markdown(conv)
    assert mode(md) == 0o600 and "a private prompt" in md.read_text()
    elsewhere = tmp_path / "out.md"
    elsewhere.write_text("old")
    os.chmod(elsewhere, 0o644)
    assert mode(store.export_markdown(conv, elsewhere)) == 0o600
    assert mode(store.root) == 0o700
