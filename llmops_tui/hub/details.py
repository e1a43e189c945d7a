"""One model's details: files, formats, licence, config, from the Hub or the local cache."""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from llmops_tui.hub.cache import CachedModel, pick_revision, scan_cache
from llmops_tui.hub.errors import HubError, explain_error
from llmops_tui.hub.settings import LIBRARY, HubSettings


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
    from llmops_tui.fit.shape import text_config
    from llmops_tui.fit.weights import weight_format

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
    from llmops_tui.hub.reach import require_hub

    try:
        require_hub(s, f"details of {repo_id}")
    except HubError:
        if cached is not None:  # offline, but the cache has it: what the cache says
            return local_details(cached, revision, s)
        raise
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
    rev = pick_revision(cached, revision)
    d = ModelDetails(repo_id=cached.repo_id, source="cache", commit=rev.commit, cached=cached)
    return _read_folder(d, rev.snapshot_path, missing_config=None)


def folder_details(path: str | os.PathLike[str]) -> ModelDetails:
    """Details of a model folder on disk (what `llmops demo` writes, a copied checkpoint)."""
    from pathlib import Path

    root = Path(path).expanduser()
    d = ModelDetails(repo_id=str(root), source="folder")
    missing = f"{root} has no config.json (not a Hugging Face model folder?)"
    return _read_folder(d, root, missing_config=missing)


def _read_folder(d: ModelDetails, root, missing_config: str | None) -> ModelDetails:
    """Files, config.json and safetensors parameter counts of one model folder into ``d``
    (``missing_config``: the error to record when there is no config.json, or None)."""
    for p in sorted(root.rglob("*")):
        if p.is_file():
            d.files.append(RepoFile(str(p.relative_to(root)), p.stat().st_size))
    cfg = root / "config.json"
    if cfg.is_file():
        try:
            d.config = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            d.config_error = f"{cfg}: {exc}"
    elif missing_config:
        d.config_error = missing_config
    by_dtype: dict[str, int] = {}
    for p in root.rglob("*.safetensors"):
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
