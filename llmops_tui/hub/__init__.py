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

The names below are re-exported so that ``from llmops_tui import hub; hub.download(...)`` works,
each imported on first use (``llmops_tui.lazy``): importing the package imports no submodule.
"""

from __future__ import annotations

from llmops_tui.lazy import lazy_exports

_HOMES = {
    "cache": (
        "CachedModel",
        "CachedRevision",
        "CacheReport",
        "pick_revision",
        "scan_cache",
    ),
    "delete": (
        "DeletePlan",
        "plan_delete",
    ),
    "details": (
        "ModelDetails",
        "RepoFile",
        "local_details",
        "model_details",
        "safetensors_param_counts",
    ),
    "downloader": (
        "DownloadProgress",
        "DownloadResult",
        "FileProgress",
        "download",
        "select_files",
    ),
    "errors": (
        "DownloadCancelled",
        "HubError",
        "explain_error",
        "format_age",
        "format_size",
    ),
    "new_profile": (
        "profile_for_model",
        "save_new_profile",
    ),
    "search": (
        "SORTS",
        "SearchResult",
        "search_models",
    ),
    "settings": (
        "CHUNK",
        "COMMIT_RE",
        "LIBRARY",
        "HubSettings",
    ),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
