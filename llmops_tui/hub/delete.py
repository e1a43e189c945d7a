"""Planning the deletion of a cached model (what goes, how much space comes back)."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_tui.hub.cache import pick_revision, scan_cache
from llmops_tui.hub.errors import HubError, format_size
from llmops_tui.hub.settings import HubSettings


@dataclass(frozen=True)
class DeletePlan:
    repo_id: str
    revisions: tuple[str, ...]
    whole_repo: bool
    expected_freed_size: int
    paths: tuple[Path, ...]
    _strategy: Any = None

    def describe(self) -> str:
        what = (
            f"all of {self.repo_id}"
            if self.whole_repo
            else f"{self.repo_id} revision(s) {', '.join(r[:8] for r in self.revisions)}"
        )
        return f"delete {what}: frees {format_size(self.expected_freed_size)}"

    def execute(self) -> None:
        self._strategy.execute()
        if self.whole_repo:
            for p in self.paths:
                if p.exists():
                    shutil.rmtree(p, ignore_errors=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "revisions": list(self.revisions),
            "whole_repo": self.whole_repo,
            "expected_freed_size": self.expected_freed_size,
            "paths": [str(p) for p in self.paths],
        }


def plan_delete(
    repo_id: str, revisions: Iterable[str] | None = None, settings: HubSettings | None = None
) -> DeletePlan:
    """What deleting a repo (or some of its revisions) would free, before doing it."""
    from huggingface_hub import scan_cache_dir

    s = settings or HubSettings.from_env()
    report = scan_cache(s)
    model = report.find(repo_id)
    if model is None:
        raise HubError("not_cached", f"{repo_id} is not in the cache {s.cache_dir}")
    wanted = list(revisions or [])
    if wanted:
        commits = [pick_revision(model, r).commit for r in wanted]
    else:
        commits = [r.commit for r in model.revisions]
    whole = set(commits) == {r.commit for r in model.revisions}
    strategy = scan_cache_dir(s.cache_dir).delete_revisions(*commits)
    freed = strategy.expected_freed_size + (model.incomplete_bytes if whole else 0)
    paths = tuple(sorted(set(strategy.repos) | set(strategy.snapshots))) or (model.path,)
    if whole:
        paths = (model.path,)
    return DeletePlan(repo_id, tuple(commits), whole, freed, paths, strategy)
