"""Hub settings, read from the environment at each call, not at import: ``HF_HOME``,
``HF_HUB_CACHE``, ``HF_TOKEN``, ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

COMMIT_RE = re.compile(r"^[0-9a-f]{40}$")
CHUNK = 1024 * 1024
LIBRARY = "llmops"


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
        # Its retries log "Retrying in 8s [Retry 4/5]" on stderr (over the TUI's screen, and
        # 11 lines per offline search): the app says what failed itself, once.
        import logging

        logging.getLogger("huggingface_hub.utils._http").setLevel(logging.ERROR)
        logging.getLogger("huggingface_hub.hf_api").setLevel(logging.ERROR)

        return HfApi(endpoint=self.endpoint, token=self.auth, library_name=LIBRARY)

    def model_url(self, repo_id: str) -> str:
        return f"{self.endpoint}/{repo_id}"
