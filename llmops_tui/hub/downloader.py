"""Downloads into the cache's own layout, resumable.

``huggingface_hub`` 2.x's ``hf_hub_download`` writes each file to a
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

import fnmatch
import hashlib
import os
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from llmops_tui.hub.errors import DownloadCancelled, HubError, explain_error, format_size
from llmops_tui.hub.settings import CHUNK, COMMIT_RE, LIBRARY, HubSettings


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
