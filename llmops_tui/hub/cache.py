"""The local Hugging Face cache: what models are there, at which revisions, how big."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_tui.hub.errors import HubError
from llmops_tui.hub.settings import HubSettings


@dataclass(frozen=True)
class CachedRevision:
    commit: str
    refs: tuple[str, ...]
    size_on_disk: int
    nb_files: int
    last_modified: float
    snapshot_path: Path


@dataclass(frozen=True)
class CachedModel:
    repo_id: str
    repo_type: str
    size_on_disk: int
    nb_files: int
    last_accessed: float
    last_modified: float
    path: Path
    revisions: tuple[CachedRevision, ...]
    incomplete_bytes: int = 0  # partial downloads (not counted as cached)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "repo_type": self.repo_type,
            "size_on_disk": self.size_on_disk,
            "nb_files": self.nb_files,
            "last_accessed": self.last_accessed,
            "last_modified": self.last_modified,
            "path": str(self.path),
            "incomplete_bytes": self.incomplete_bytes,
            "revisions": [
                {
                    "commit": r.commit,
                    "refs": list(r.refs),
                    "size_on_disk": r.size_on_disk,
                    "nb_files": r.nb_files,
                    "last_modified": r.last_modified,
                    "snapshot_path": str(r.snapshot_path),
                }
                for r in self.revisions
            ],
        }


@dataclass(frozen=True)
class CacheReport:
    cache_dir: Path
    models: tuple[CachedModel, ...]
    warnings: tuple[str, ...] = ()

    @property
    def size_on_disk(self) -> int:
        return sum(m.size_on_disk for m in self.models)

    def find(self, repo_id: str) -> CachedModel | None:
        return next((m for m in self.models if m.repo_id == repo_id), None)


def scan_cache(settings: HubSettings | None = None, repo_type: str | None = "model") -> CacheReport:
    """The local cache (``scan_cache_dir``), largest first; partial downloads counted apart."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    s = settings or HubSettings.from_env()
    try:
        info = scan_cache_dir(s.cache_dir)
    except CacheNotFound:
        return CacheReport(s.cache_dir, ())
    partial: dict[Path, int] = {}
    for f in getattr(info, "incomplete_files", ()):  # blobs/*.incomplete
        repo_path = Path(f.file_path).parent.parent
        partial[repo_path] = partial.get(repo_path, 0) + f.size_on_disk
    models = []
    for r in info.repos:
        if repo_type and r.repo_type != repo_type:
            continue
        revs = tuple(
            sorted(
                (
                    CachedRevision(
                        commit=v.commit_hash,
                        refs=tuple(sorted(v.refs)),
                        size_on_disk=v.size_on_disk,
                        nb_files=v.nb_files,
                        last_modified=v.last_modified,
                        snapshot_path=Path(v.snapshot_path),
                    )
                    for v in r.revisions
                ),
                key=lambda v: -v.last_modified,
            )
        )
        models.append(
            CachedModel(
                repo_id=r.repo_id,
                repo_type=r.repo_type,
                size_on_disk=r.size_on_disk,
                nb_files=r.nb_files,
                last_accessed=r.last_accessed,
                last_modified=r.last_modified,
                path=Path(r.repo_path),
                revisions=revs,
                incomplete_bytes=partial.get(Path(r.repo_path), 0),
            )
        )
    models.sort(key=lambda m: (-m.size_on_disk, m.repo_id))
    warnings = tuple(str(w) for w in info.warnings)
    return CacheReport(s.cache_dir, tuple(models), warnings)


def pick_revision(cached: CachedModel, revision: str | None) -> CachedRevision:
    if not cached.revisions:
        raise HubError("not_cached", f"{cached.repo_id}: no complete revision in the cache")
    if revision is None:
        for r in cached.revisions:
            if "main" in r.refs:
                return r
        return cached.revisions[0]
    for r in cached.revisions:
        if revision in r.refs or r.commit.startswith(revision):
            return r
    have = ", ".join(f"{r.commit[:8]} ({','.join(r.refs) or '-'})" for r in cached.revisions)
    raise HubError(
        "revision_not_found", f"{cached.repo_id}: revision {revision} not cached; have {have}"
    )
