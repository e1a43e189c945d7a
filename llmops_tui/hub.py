"""Hugging Face Hub: local cache, search, model details, download, delete.

No Textual here: the Models tab and ``llmops models`` both call these functions
(the tab from worker threads).

Settings are read from the environment at each call (:meth:`HubSettings.from_env`),
not at import, and passed explicitly to ``huggingface_hub``: ``HF_HOME``,
``HF_HUB_CACHE``, ``HF_TOKEN``, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``.

Downloads. ``huggingface_hub`` 2.x's ``hf_hub_download`` writes each file to a
process-unique temporary name and deletes it on failure, so an interrupted
download starts again from zero. :func:`download` therefore streams each file
itself, into the cache's own layout: ``blobs/<etag>.incomplete`` (resumed with an
HTTP ``Range`` request on the next run, and listed by ``scan_cache_dir`` as an
incomplete file), renamed to ``blobs/<etag>`` only once its size and checksum
match, then linked from ``snapshots/<commit>/<file>``. The metadata (HEAD with
``X-Repo-Commit``, ``X-Linked-Etag``, ``X-Linked-Size``), the URLs, headers, HTTP
client and error classes are huggingface_hub's own.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import re
import shutil
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
CHUNK = 1024 * 1024
LIBRARY = "llmops"


# ---------------------------------------------------------------------------
# Settings


def _truthy(v: str | None) -> bool:
    return (v or "").strip().upper() in ("1", "ON", "YES", "TRUE")


@dataclass(frozen=True)
class HubSettings:
    cache_dir: Path
    endpoint: str
    token: str | None
    token_source: str | None  # "HF_TOKEN", "token file <path>", None
    offline: bool
    hf_home: Path

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> HubSettings:
        env = os.environ if environ is None else environ
        xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        hf_home = Path(env.get("HF_HOME") or os.path.join(xdg, "huggingface")).expanduser()
        cache = env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE")
        cache_dir = Path(cache).expanduser() if cache else hf_home / "hub"
        endpoint = (env.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
        token = (env.get("HF_TOKEN") or env.get("HUGGING_FACE_HUB_TOKEN") or "").strip() or None
        source = "HF_TOKEN" if token else None
        if token is None:
            token_file = Path(env.get("HF_TOKEN_PATH") or hf_home / "token").expanduser()
            try:
                token = token_file.read_text().strip() or None
                source = f"token file {token_file}" if token else None
            except OSError:
                pass
        offline = _truthy(env.get("HF_HUB_OFFLINE")) or _truthy(env.get("TRANSFORMERS_OFFLINE"))
        return cls(cache_dir, endpoint, token, source, offline, hf_home)

    @property
    def auth(self) -> str | bool:
        """What huggingface_hub's ``token=`` gets: our token, or False (never an implicit one)."""
        return self.token or False

    def api(self):
        from huggingface_hub import HfApi, constants

        # huggingface_hub reads HF_HUB_OFFLINE once, at import, and its HTTP hook
        # refuses every request while it is set: follow the environment of now.
        constants.HF_HUB_OFFLINE = self.offline

        return HfApi(endpoint=self.endpoint, token=self.auth, library_name=LIBRARY)

    def model_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/{repo_id}"


# ---------------------------------------------------------------------------
# Errors


class HubError(Exception):
    """A failure with a message fit for the user; ``kind`` is machine-readable."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class DownloadCancelled(HubError):
    def __init__(self, message: str):
        super().__init__("cancelled", message)


def _gb(n: float) -> str:
    return format_size(n)


def format_size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def explain_error(
    exc: BaseException, repo_id: str, settings: HubSettings, what: str = ""
) -> HubError:
    """Turn huggingface_hub / httpx2 / OS errors into a HubError that says what to do."""
    if isinstance(exc, HubError):
        return exc
    import httpx2
    from huggingface_hub import errors as hf

    where = f" ({what})" if what else ""
    url = settings.model_url(repo_id)
    if isinstance(exc, hf.HFValidationError):
        return HubError("usage", f"'{repo_id}' is not a valid repo id: {_first_line(exc)}")
    if isinstance(exc, hf.GatedRepoError):
        if settings.token:
            return HubError(
                "gated",
                f"{repo_id} is gated and the token from {settings.token_source} has no access "
                f"yet{where}. Open {url} while logged in as that token's account, accept the "
                "license / request access, wait for approval, then retry.",
            )
        return HubError(
            "gated",
            f"{repo_id} is gated: downloading needs a Hugging Face token with access{where}. "
            f"1) Open {url}, log in and accept the license. 2) Create a read token at "
            f"{settings.endpoint}/settings/tokens. 3) export HF_TOKEN=hf_… in the shell that "
            "runs llmops (never in a profile file), then retry.",
        )
    if isinstance(exc, hf.RevisionNotFoundError):
        return HubError(
            "revision_not_found",
            f"{repo_id}: no such revision{where}; check the branch, tag or commit",
        )
    if isinstance(exc, (hf.RemoteEntryNotFoundError, hf.EntryNotFoundError)):
        return HubError("entry_not_found", f"{repo_id}: file not found in the repo{where}")
    if isinstance(exc, hf.RepositoryNotFoundError):
        hint = (
            f"the token from {settings.token_source} cannot see it either"
            if settings.token
            else "if it is private, export HF_TOKEN=hf_… (a token with read access) and retry"
        )
        return HubError(
            "not_found",
            f"{repo_id} not found on {settings.endpoint}{where}: check the id (org/name); {hint}.",
        )
    if isinstance(exc, (hf.OfflineModeIsEnabled, hf.LocalEntryNotFoundError)):
        if settings.offline:
            return HubError(
                "offline",
                f"offline mode (HF_HUB_OFFLINE=1) and {repo_id} is not in the cache "
                f"{settings.cache_dir}{where}; unset HF_HUB_OFFLINE to reach {settings.endpoint}.",
            )
        return HubError(
            "network",
            f"cannot reach {settings.endpoint} for {repo_id}{where}: check the network, proxy "
            "or HF_ENDPOINT, then retry (a download resumes where it stopped).",
        )
    if isinstance(exc, hf.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            return HubError(
                "unauthorized",
                f"{settings.endpoint} refused the token from {settings.token_source or 'nowhere'} "
                f"(401){where}: check HF_TOKEN (expired or mistyped?).",
            )
        if status == 403:
            return HubError(
                "forbidden",
                f"access to {repo_id} forbidden (403){where}: the token lacks permission; "
                f"check its scopes at {settings.endpoint}/settings/tokens and the repo page {url}.",
            )
        return HubError("http", f"{repo_id}: the Hub answered {status}{where}: {_first_line(exc)}")
    if isinstance(exc, (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError)):
        return HubError(
            "network",
            f"network error talking to {settings.endpoint}{where}: {type(exc).__name__}: "
            f"{_first_line(exc) or 'connection lost'}. Retry: a download resumes where it stopped.",
        )
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return HubError(
            "disk_full",
            f"no space left on the device of {settings.cache_dir}{where}. Free space "
            "(llmops models rm …) or point HF_HUB_CACHE at a bigger disk; the partial file is "
            "kept as .incomplete so a re-run resumes.",
        )
    if isinstance(exc, OSError):
        return HubError("os", f"{what or 'file error'}: {exc}")
    return HubError("error", f"{repo_id}{where}: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


# ---------------------------------------------------------------------------
# Cache listing


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


# ---------------------------------------------------------------------------
# Search


SORTS = ("downloads", "likes", "trending", "modified", "created")
_SORT_API = {
    "downloads": "downloads",
    "likes": "likes",
    "trending": "trending_score",
    "modified": "last_modified",
    "created": "created_at",
}


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


# ---------------------------------------------------------------------------
# Model details


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int | None
    lfs: bool = False


@dataclass
class ModelDetails:
    repo_id: str
    source: str  # "hub" | "cache"
    commit: str | None = None
    license: str | None = None
    gated: bool | str | None = None
    private: bool | None = None
    pipeline_tag: str | None = None
    library: str | None = None
    downloads: int | None = None
    likes: int | None = None
    files: list[RepoFile] = field(default_factory=list)
    params: int | None = None
    params_by_dtype: dict[str, int] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    config_error: str | None = None
    dtype: str | None = None
    quantization: str | None = None
    cached: CachedModel | None = None

    @property
    def total_size(self) -> int:
        return sum(f.size or 0 for f in self.files)

    @property
    def weights_size(self) -> int:
        return sum(f.size or 0 for f in self.files if f.path.endswith(".safetensors"))

    def to_dict(self) -> dict[str, Any]:
        d = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("files", "cached", "config") and not k.startswith("_")
        }
        d["files"] = [f.__dict__ for f in self.files]
        d["total_size"] = self.total_size
        d["config"] = self.config
        d["cached"] = self.cached.to_dict() if self.cached else None
        return d


def _describe_format(details: ModelDetails) -> None:
    if details.config is None:
        return
    from llmops_tui.fit import text_config, weight_format

    cfg = text_config(details.config)
    details.dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "") or None
    fmt = weight_format(details.config)
    details.quantization = fmt.name if fmt.is_quantized else None


def model_details(
    repo_id: str, revision: str | None = None, settings: HubSettings | None = None
) -> ModelDetails:
    """Details from the Hub, or from the cache when offline (or the repo is cached and offline)."""
    s = settings or HubSettings.from_env()
    cached = scan_cache(s).find(repo_id)
    if s.offline:
        if cached is None:
            raise HubError(
                "offline",
                f"offline mode (HF_HUB_OFFLINE=1) and {repo_id} is not in {s.cache_dir}",
            )
        return local_details(cached, revision, s)
    try:
        info = s.api().model_info(repo_id, revision=revision, files_metadata=True)
    except Exception as exc:
        raise explain_error(exc, repo_id, s, "model info") from None
    d = ModelDetails(
        repo_id=info.id,
        source="hub",
        commit=info.sha,
        gated=info.gated,
        private=info.private,
        pipeline_tag=info.pipeline_tag,
        library=info.library_name,
        downloads=info.downloads,
        likes=info.likes,
        cached=cached,
    )
    d.license = _license(info)
    d.files = [
        RepoFile(x.rfilename, x.lfs.size if x.lfs else x.size, x.lfs is not None)
        for x in info.siblings or []
    ]
    if info.safetensors is not None:
        d.params = int(info.safetensors.total)
        d.params_by_dtype = dict(info.safetensors.parameters)
    if any(f.path == "config.json" for f in d.files):
        try:
            d.config = _fetch_json(s, repo_id, "config.json", info.sha or revision or "main")
        except HubError as exc:
            d.config_error = exc.message
    _describe_format(d)
    return d


def _license(info: Any) -> str | None:
    card = getattr(info, "card_data", None)
    lic = getattr(card, "license", None) if card is not None else None
    if lic:
        return str(lic)
    for tag in info.tags or []:
        if tag.startswith("license:"):
            return tag.split(":", 1)[1]
    return None


def _fetch_json(s: HubSettings, repo_id: str, filename: str, revision: str) -> dict[str, Any]:
    """A small JSON file read straight from the Hub (not written to the cache)."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    url = hf_hub_url(repo_id, filename, revision=revision, endpoint=s.endpoint)
    try:
        r = get_session().get(
            url, headers=build_hf_headers(token=s.auth, library_name=LIBRARY), timeout=30
        )
        hf_raise_for_status(r)
        return json.loads(r.content)
    except ValueError as exc:
        raise HubError("bad_file", f"{repo_id}/{filename}: not valid JSON ({exc})") from None
    except Exception as exc:
        raise explain_error(exc, repo_id, s, filename) from None


def local_details(
    cached: CachedModel, revision: str | None = None, settings: HubSettings | None = None
) -> ModelDetails:
    """Details read from a cached snapshot: files, config.json, safetensors headers."""
    rev = _pick_revision(cached, revision)
    d = ModelDetails(repo_id=cached.repo_id, source="cache", commit=rev.commit, cached=cached)
    snap = rev.snapshot_path
    for p in sorted(snap.rglob("*")):
        if p.is_file():
            d.files.append(RepoFile(str(p.relative_to(snap)), p.stat().st_size))
    cfg = snap / "config.json"
    if cfg.is_file():
        try:
            d.config = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            d.config_error = f"{cfg}: {exc}"
    by_dtype: dict[str, int] = {}
    for p in snap.rglob("*.safetensors"):
        try:
            for dtype, n in safetensors_param_counts(p).items():
                by_dtype[dtype] = by_dtype.get(dtype, 0) + n
        except (OSError, ValueError):
            continue
    if by_dtype:
        d.params_by_dtype = by_dtype
        d.params = sum(by_dtype.values())
    _describe_format(d)
    return d


def _pick_revision(cached: CachedModel, revision: str | None) -> CachedRevision:
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


def safetensors_param_counts(path: str | os.PathLike[str]) -> dict[str, int]:
    """Element counts per dtype from a safetensors file header (reads only the header)."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError("file shorter than a safetensors header")
        (n,) = struct.unpack("<Q", head)
        if n > 100_000_000:
            raise ValueError(f"header of {n} bytes is implausible")
        header = json.loads(f.read(n))
    out: dict[str, int] = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        count = 1
        for dim in t["shape"]:
            count *= int(dim)
        out[t["dtype"]] = out.get(t["dtype"], 0) + count
    return out


# ---------------------------------------------------------------------------
# Download


@dataclass(frozen=True)
class FileProgress:
    path: str
    size: int | None
    done: int
    state: str  # "pending" | "downloading" | "done" | "cached" | "failed" | "cancelled"


@dataclass(frozen=True)
class DownloadProgress:
    repo_id: str
    revision: str
    commit: str | None
    files: tuple[FileProgress, ...]
    current: str | None
    bytes_done: int
    bytes_total: int
    speed: float  # bytes/s over the last few seconds (this run only)
    eta_s: float | None
    state: str  # "resolving" | "downloading" | "done" | "cancelled" | "failed"
    resumed_bytes: int = 0
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.bytes_done / self.bytes_total if self.bytes_total else 0.0

    def line(self) -> str:
        pct = f"{self.fraction * 100:5.1f}%"
        eta = f"ETA {_eta(self.eta_s)}" if self.eta_s is not None else "ETA ?"
        cur = f" {self.current}" if self.current else ""
        return (
            f"{self.repo_id}: {pct} {format_size(self.bytes_done)}/{format_size(self.bytes_total)} "
            f"{format_size(self.speed)}/s {eta}{cur}"
        )


def _eta(s: float) -> str:
    s = int(s)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s"


@dataclass(frozen=True)
class DownloadResult:
    repo_id: str
    commit: str
    snapshot_path: Path
    files: tuple[FileProgress, ...]
    downloaded_bytes: int  # over the network in this run
    resumed_bytes: int  # found on disk from an earlier run
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo_id": self.repo_id,
            "commit": self.commit,
            "snapshot_path": str(self.snapshot_path),
            "files": [f.__dict__ for f in self.files],
            "downloaded_bytes": self.downloaded_bytes,
            "resumed_bytes": self.resumed_bytes,
            "seconds": round(self.seconds, 3),
        }


def select_files(names: Iterable[str], patterns: Iterable[str] | None) -> list[str]:
    pats = [p for p in (patterns or []) if p]
    names = list(names)
    if not pats:
        return names
    return [n for n in names if any(fnmatch.fnmatch(n, p) for p in pats)]


class _Tracker:
    """Progress bookkeeping and the throttled callback."""

    def __init__(self, repo_id: str, revision: str, cb: Callable[[DownloadProgress], None] | None):
        self.repo_id, self.revision, self.cb = repo_id, revision, cb
        self.commit: str | None = None
        self.files: dict[str, FileProgress] = {}
        self.current: str | None = None
        self.net = 0
        self.resumed = 0
        self.window: deque[tuple[float, int]] = deque()
        self.last_emit = 0.0
        self.state = "resolving"
        self.message = ""

    def set_file(self, path: str, **kw: Any) -> None:
        self.files[path] = replace(self.files[path], **kw)

    def speed(self, now: float) -> float:
        self.window.append((now, self.net))
        while len(self.window) > 2 and now - self.window[0][0] > 5.0:
            self.window.popleft()
        t0, b0 = self.window[0]
        return (self.net - b0) / (now - t0) if now > t0 else 0.0

    def snapshot(self, now: float | None = None) -> DownloadProgress:
        now = time.monotonic() if now is None else now
        done = sum(f.done for f in self.files.values())
        total = sum(f.size or 0 for f in self.files.values())
        spd = self.speed(now)
        eta = (total - done) / spd if spd > 0 and total >= done else None
        return DownloadProgress(
            repo_id=self.repo_id,
            revision=self.revision,
            commit=self.commit,
            files=tuple(self.files.values()),
            current=self.current,
            bytes_done=done,
            bytes_total=total,
            speed=spd,
            eta_s=eta if self.state == "downloading" else (0.0 if self.state == "done" else None),
            state=self.state,
            resumed_bytes=self.resumed,
            message=self.message,
        )

    def emit(self, force: bool = False) -> None:
        if self.cb is None:
            return
        now = time.monotonic()
        if force or now - self.last_emit >= 0.2:
            self.last_emit = now
            self.cb(self.snapshot(now))


def download(
    repo_id: str,
    *,
    revision: str | None = None,
    allow_patterns: Iterable[str] | None = None,
    settings: HubSettings | None = None,
    progress: Callable[[DownloadProgress], None] | None = None,
    cancel: threading.Event | None = None,
    retries: int = 3,
    check_space: bool = True,
) -> DownloadResult:
    """Download a repo (or the files matching ``allow_patterns``) into the HF cache.

    Resumable: partial files stay as ``blobs/<etag>.incomplete`` and a re-run
    continues them with a Range request. ``cancel`` is checked between chunks.
    ``retries``: reconnections per file after a network cut (each resumes).
    Raises :class:`HubError` (``DownloadCancelled`` when cancelled).
    """
    s = settings or HubSettings.from_env()
    rev = revision or "main"
    t = _Tracker(repo_id, rev, progress)
    started = time.monotonic()
    if s.offline:
        raise HubError(
            "offline", f"offline mode (HF_HUB_OFFLINE=1): cannot download {repo_id}; unset it first"
        )
    try:
        info = s.api().model_info(repo_id, revision=rev, files_metadata=True)
    except Exception as exc:
        raise explain_error(exc, repo_id, s, "listing files") from None
    commit = info.sha
    if not commit or not COMMIT_RE.match(commit):
        raise HubError("http", f"{repo_id}: the Hub gave no commit for revision {rev}")
    t.commit = commit
    siblings = {x.rfilename: (x.lfs.size if x.lfs else x.size) for x in info.siblings or []}
    wanted = select_files(sorted(siblings), allow_patterns)
    if not wanted:
        pats = ", ".join(allow_patterns or [])
        raise HubError("entry_not_found", f"{repo_id}@{rev}: no file matches {pats or 'anything'}")
    for name in wanted:
        t.files[name] = FileProgress(name, siblings[name], 0, "pending")

    from huggingface_hub.file_download import repo_folder_name

    storage = s.cache_dir / repo_folder_name(repo_id=repo_id, repo_type="model")
    snapshot = storage / "snapshots" / commit
    # Resumable state first, so the first progress event already counts what is on disk.
    t.state = "downloading"
    if check_space:
        _check_space(s, storage, t)
    t.emit(force=True)
    try:
        for name in wanted:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"{repo_id}: cancelled before {name}")
            _download_one(s, repo_id, commit, name, storage, t, cancel, retries)
        _write_ref(storage, rev, commit)
    except HubError as exc:
        t.state = "cancelled" if isinstance(exc, DownloadCancelled) else "failed"
        t.message = exc.message
        if t.current and t.files[t.current].state == "downloading":
            t.set_file(t.current, state=t.state)
        t.emit(force=True)
        raise
    t.state, t.current = "done", None
    t.emit(force=True)
    return DownloadResult(
        repo_id=repo_id,
        commit=commit,
        snapshot_path=snapshot,
        files=tuple(t.files.values()),
        downloaded_bytes=t.net,
        resumed_bytes=t.resumed,
        seconds=time.monotonic() - started,
    )


def _check_space(s: HubSettings, storage: Path, t: _Tracker) -> None:
    """Refuse up front when the files left to fetch cannot fit on the cache's disk."""
    need = sum(f.size or 0 for f in t.files.values())
    probe = storage
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    # what is already there (complete or partial) does not need space again
    have = 0
    snap_dirs = list((storage / "snapshots").glob("*")) if (storage / "snapshots").exists() else []
    for name in t.files:
        if any((d / name).exists() for d in snap_dirs):
            have += t.files[name].size or 0
    blobs = storage / "blobs"
    if blobs.exists():
        have += sum(p.stat().st_size for p in blobs.glob("*.incomplete"))
    free = shutil.disk_usage(probe).free
    if need - have > free:
        raise HubError(
            "disk_full",
            f"not enough space for {t.repo_id}: {format_size(need - have)} to download, "
            f"{format_size(free)} free on the disk of {s.cache_dir}. Free space (llmops models rm "
            "…) or point HF_HUB_CACHE at a bigger disk. Nothing was written.",
        )


def _write_ref(storage: Path, revision: str, commit: str) -> None:
    if revision == commit:
        return
    ref = storage / "refs" / revision
    ref.parent.mkdir(parents=True, exist_ok=True)
    if not ref.exists() or ref.read_text() != commit:
        tmp = ref.with_name(ref.name + ".tmp")
        tmp.write_text(commit)
        os.replace(tmp, ref)


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlparse(a), urlparse(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _download_one(
    s: HubSettings,
    repo_id: str,
    commit: str,
    name: str,
    storage: Path,
    t: _Tracker,
    cancel: threading.Event | None,
    retries: int,
) -> None:
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import WeakFileLock

    pointer = storage / "snapshots" / commit / name
    if pointer.exists():
        size = pointer.stat().st_size
        t.set_file(name, done=size, size=t.files[name].size or size, state="cached")
        t.emit()
        return
    t.current = name
    url = hf_hub_url(repo_id, name, revision=commit, endpoint=s.endpoint)
    try:
        meta = get_hf_file_metadata(url, token=s.auth, endpoint=s.endpoint, library_name=LIBRARY)
    except Exception as exc:
        raise explain_error(exc, repo_id, s, name) from None
    if not meta.etag:
        raise HubError("http", f"{repo_id}/{name}: the Hub sent no ETag; cannot cache it safely")
    size = meta.size if meta.size is not None else t.files[name].size
    blob = storage / "blobs" / meta.etag
    blob.parent.mkdir(parents=True, exist_ok=True)
    lock = s.cache_dir / ".locks" / storage.name / f"{meta.etag}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with WeakFileLock(lock):
        if not blob.exists():
            _stream_blob(
                s, repo_id, name, url, meta.location, meta.etag, size, blob, t, cancel, retries
            )
        else:
            t.set_file(name, done=blob.stat().st_size, size=size, state="cached")
        pointer.parent.mkdir(parents=True, exist_ok=True)
        if not pointer.exists():
            rel = os.path.relpath(blob, pointer.parent)
            try:
                os.symlink(rel, pointer)
            except OSError:
                shutil.copyfile(blob, pointer)
    if t.files[name].state != "cached":
        t.set_file(name, state="done", done=size or t.files[name].done)
    t.emit(force=True)


def _hasher(etag: str, size: int | None):
    """sha256 for LFS blobs (etag = sha256), git blob sha1 for the rest; None if unknown."""
    if re.fullmatch(r"[0-9a-f]{64}", etag):
        return hashlib.sha256()
    if re.fullmatch(r"[0-9a-f]{40}", etag) and size is not None:
        h = hashlib.sha1()
        h.update(f"blob {size}\0".encode())
        return h
    return None


def _stream_blob(
    s: HubSettings,
    repo_id: str,
    name: str,
    url: str,
    location: str,
    etag: str,
    size: int | None,
    blob: Path,
    t: _Tracker,
    cancel: threading.Event | None,
    retries: int,
) -> None:
    import httpx2
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    partial = blob.with_name(blob.name + ".incomplete")
    headers = build_hf_headers(token=s.auth, library_name=LIBRARY)
    headers["Accept-Encoding"] = "identity"  # byte offsets must be file offsets for Range
    if not _same_origin(url, location):
        headers.pop("authorization", None)  # signed CDN URL: the token must not leave the Hub
    hasher = _hasher(etag, size)
    have = partial.stat().st_size if partial.exists() else 0
    if size is not None and have > size:
        partial.unlink()
        have = 0
    if hasher is not None and have:
        with open(partial, "rb") as f:
            for chunk in iter(lambda: f.read(CHUNK), b""):
                hasher.update(chunk)
    t.resumed += have
    t.set_file(name, done=have, size=size, state="downloading")
    t.emit(force=True)
    attempt = 0
    while size is None or have < size:
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled(f"{repo_id}: cancelled in {name} ({format_size(have)} kept)")
        req = dict(headers)
        if have:
            req["Range"] = f"bytes={have}-"
        try:
            with get_session().stream("GET", location, headers=req, timeout=60) as r:
                hf_raise_for_status(r)
                if have and r.status_code == 200:  # Range ignored: start over
                    have = 0
                    hasher = _hasher(etag, size)
                    with open(partial, "wb"):
                        pass
                    t.set_file(name, done=0)
                with open(partial, "ab") as f:
                    for chunk in r.iter_raw():  # as it arrives: a cut loses nothing
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled(
                                f"{repo_id}: cancelled in {name} ({format_size(have)} kept on "
                                "disk; re-run to resume)"
                            )
                        f.write(chunk)
                        if hasher is not None:
                            hasher.update(chunk)
                        have += len(chunk)
                        t.net += len(chunk)
                        t.set_file(name, done=have)
                        t.emit()
            if size is None:
                size = have
                break
            if have < size:
                raise httpx2.RemoteProtocolError(f"connection closed at {have} of {size} bytes")
        except (httpx2.TimeoutException, httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
            attempt += 1
            if attempt > retries:
                err = explain_error(exc, repo_id, s, name)
                raise HubError(
                    "network",
                    f"{err.message} {format_size(have)} of {name} kept on disk.",
                ) from None
            time.sleep(min(2**attempt * 0.25, 4))
        except HubError:
            raise
        except OSError as exc:
            raise explain_error(exc, repo_id, s, f"writing {name}") from None
        except Exception as exc:
            raise explain_error(exc, repo_id, s, name) from None
    if size is not None and have != size:
        raise HubError("size_mismatch", f"{repo_id}/{name}: got {have} bytes, expected {size}")
    if hasher is not None and hasher.hexdigest() != etag:
        partial.unlink(missing_ok=True)
        raise HubError(
            "checksum",
            f"{repo_id}/{name}: checksum mismatch (expected {etag}); the partial file was "
            "removed, re-run to download it again",
        )
    os.replace(partial, blob)


# ---------------------------------------------------------------------------
# Delete


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
        commits = [_pick_revision(model, r).commit for r in wanted]
    else:
        commits = [r.commit for r in model.revisions]
    whole = set(commits) == {r.commit for r in model.revisions}
    strategy = scan_cache_dir(s.cache_dir).delete_revisions(*commits)
    freed = strategy.expected_freed_size + (model.incomplete_bytes if whole else 0)
    paths = tuple(sorted(set(strategy.repos) | set(strategy.snapshots))) or (model.path,)
    if whole:
        paths = (model.path,)
    return DeletePlan(repo_id, tuple(commits), whole, freed, paths, strategy)


# ---------------------------------------------------------------------------
# New launch profile from a model


def profile_for_model(
    engine: str,
    repo_id: str,
    *,
    tensor_parallel: int = 1,
    quantization: str | None = None,
    gated: bool | str | None = None,
    max_model_len: int | None = None,
    revision: str | None = None,
):
    """A pre-filled Profile for ``engine`` serving ``repo_id`` (validated by the caller's save).

    vLLM and SGLang read the quantization from config.json, so it is only set
    for TGI (which needs ``--quantize``) and only to a value TGI accepts.
    Gated or private models get ``HF_TOKEN = "$HF_TOKEN"`` (passed through from
    the environment, never written).
    """
    from llmops_tui.engines.facts import FACTS
    from llmops_tui.profiles import Profile

    facts = FACTS[engine]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", repo_id.split("/")[-1]).strip("-.").lower()
    name = f"{engine}-{slug}"[:60] + (f"-tp{tensor_parallel}" if tensor_parallel > 1 else "")
    quant = None
    if engine == "tgi" and quantization:
        base = quantization.split()[0].replace("auto_", "")
        quant = base if base in facts.quantization else None
    env = {"HF_TOKEN": "$HF_TOKEN"} if gated else {}
    return Profile(
        name=name,
        engine=engine,
        model=repo_id,
        revision=revision,
        port=facts.default_port,
        tensor_parallel=tensor_parallel,
        quantization=quant,
        max_model_len=max_model_len,
        env=env,
        description=f"{repo_id} on {facts.label} (made from the Models tab)",
    )


def save_new_profile(profile, directory: Path | None = None) -> Path:
    """Save to the user's profile folder; never overwrites (adds -2, -3, …)."""
    from llmops_tui.config import paths
    from llmops_tui.profiles import save_profile

    d = directory or paths().user_profiles
    base = profile.name
    path = d / f"{base}.toml"
    n = 2
    while path.exists():
        profile = replace(profile, name=f"{base}-{n}")
        path = d / f"{profile.name}.toml"
        n += 1
    return save_profile(profile, path)
