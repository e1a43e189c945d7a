"""Hugging Face Hub: local cache, search, model details, download, delete.

No Textual here: the Models tab and ``llmops models`` both call these functions
(the tab from worker threads). Each concern lives in its own module:

- ``settings``: :class:`HubSettings`, read from the environment at each call;
- ``errors``: :class:`HubError`, :func:`explain_error`, :func:`format_size`;
- ``cache``: :func:`scan_cache` and the cached model/revision records;
- ``search``: :func:`search_models`;
- ``details``: :func:`model_details`, :func:`local_details`, safetensors headers;
- ``downloader``: :func:`download` (resumable, into the cache layout);
- ``delete``: :func:`plan_delete`;
- ``new_profile``: :func:`profile_for_model`, :func:`save_new_profile`.

The names below are re-exported so that ``from llmops_tui import hub; hub.download(...)`` works.
"""

from __future__ import annotations

from llmops_tui.hub.cache import CachedModel, CachedRevision, CacheReport, pick_revision, scan_cache
from llmops_tui.hub.delete import DeletePlan, plan_delete
from llmops_tui.hub.details import (
    ModelDetails,
    RepoFile,
    local_details,
    model_details,
    safetensors_param_counts,
)
from llmops_tui.hub.downloader import (
    DownloadProgress,
    DownloadResult,
    FileProgress,
    download,
    select_files,
)
from llmops_tui.hub.errors import DownloadCancelled, HubError, explain_error, format_size
from llmops_tui.hub.new_profile import profile_for_model, save_new_profile
from llmops_tui.hub.search import SORTS, SearchResult, search_models
from llmops_tui.hub.settings import CHUNK, COMMIT_RE, LIBRARY, HubSettings

__all__ = [
    "CHUNK",
    "COMMIT_RE",
    "LIBRARY",
    "SORTS",
    "CacheReport",
    "CachedModel",
    "CachedRevision",
    "DeletePlan",
    "DownloadCancelled",
    "DownloadProgress",
    "DownloadResult",
    "FileProgress",
    "HubError",
    "HubSettings",
    "ModelDetails",
    "RepoFile",
    "SearchResult",
    "download",
    "explain_error",
    "format_size",
    "local_details",
    "model_details",
    "pick_revision",
    "plan_delete",
    "profile_for_model",
    "safetensors_param_counts",
    "save_new_profile",
    "scan_cache",
    "search_models",
    "select_files",
]
