"""Hub failures as messages fit for the user (:class:`HubError`), and sizes for people."""

from __future__ import annotations

import errno
import time

from llmops_tui.hub.settings import HubSettings


def _downloading(what: str) -> bool:
    """Whether the failed call was part of a download (only then does a retry resume)."""
    return what not in ("", "search", "model info")


class HubError(Exception):
    """A failure with a message fit for the user; ``kind`` is machine-readable."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class DownloadCancelled(HubError):
    def __init__(self, message: str):
        super().__init__("cancelled", message)


def format_size(n: float | None) -> str:
    if n is None:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def format_age(ts: float, now: float | None = None) -> str:
    """How long ago ``ts`` (epoch seconds) was, in the largest whole unit: "3d ago", "just now"."""
    s = max(0.0, (time.time() if now is None else now) - ts)
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= n:
            return f"{int(s // n)}{unit} ago"
    return "just now"


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
            "or HF_ENDPOINT, then retry"
            + (" (a download resumes where it stopped)." if _downloading(what) else "."),
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
            f"{_first_line(exc) or 'connection lost'}."
            + (" Retry: a download resumes where it stopped." if _downloading(what) else ""),
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
