"""Searching the Hub for models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llmops_tui.hub.errors import HubError, explain_error
from llmops_tui.hub.settings import HubSettings

SORTS = ("downloads", "likes", "trending", "modified", "created")
_SORT_API = {
    "downloads": "downloads",
    "likes": "likes",
    "trending": "trending_score",
    "modified": "last_modified",
    "created": "created_at",
}
# The columns a search result is shown in (``llmops models search``'s table; the Models tab
# shows all but the library).
SEARCH_COLUMNS = ("repo", "downloads", "likes", "task", "library", "gated")


@dataclass(frozen=True)
class SearchResult:
    repo_id: str
    downloads: int | None
    likes: int | None
    pipeline_tag: str | None
    library: str | None
    gated: bool | str | None
    last_modified: str | None
    params: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def cells(self, columns: Sequence[str] = SEARCH_COLUMNS) -> tuple[str, ...]:
        """The result as table text, one string per column of ``SEARCH_COLUMNS``."""
        text = {
            "repo": self.repo_id,
            "downloads": f"{self.downloads:,}" if self.downloads is not None else "?",
            "likes": str(self.likes) if self.likes is not None else "?",
            "task": self.pipeline_tag or "",
            "library": self.library or "",
            "gated": "yes" if self.gated else "",
        }
        return tuple(text[c] for c in columns)


def search_models(
    text: str | None = None,
    *,
    task: str | None = None,
    library: str | None = None,
    sort: str = "downloads",
    limit: int = 20,
    settings: HubSettings | None = None,
) -> list[SearchResult]:
    s = settings or HubSettings.from_env()
    if s.offline:
        raise HubError(
            "offline", "offline mode (HF_HUB_OFFLINE=1): searching the Hub needs the network"
        )
    if sort not in _SORT_API:
        raise HubError("usage", f"sort '{sort}': expected one of {', '.join(SORTS)}")
    from llmops_tui.hub.reach import require_hub

    require_hub(s, "searching the Hub")
    try:
        items = s.api().list_models(
            search=text or None,
            pipeline_tag=task or None,
            filter=library or None,
            sort=_SORT_API[sort],
            limit=limit,
        )
        out = []
        for m in items:
            params = None
            if m.safetensors is not None:
                params = getattr(m.safetensors, "total", None)
            out.append(
                SearchResult(
                    repo_id=m.id,
                    downloads=m.downloads,
                    likes=m.likes,
                    pipeline_tag=m.pipeline_tag,
                    library=m.library_name,
                    gated=m.gated,
                    last_modified=m.last_modified.isoformat() if m.last_modified else None,
                    params=params,
                )
            )
        return out
    except Exception as exc:
        raise explain_error(exc, text or "search", s, "search") from None
