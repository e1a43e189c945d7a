"""Settings and XDG paths.

Every path the app writes to comes from here, so tests (and users) can move
all of it with the XDG variables or the ``LLMOPS_*`` overrides below.

- config:  ``$LLMOPS_CONFIG_DIR`` or ``$XDG_CONFIG_HOME/llmops`` (user profiles, themes, suites)
- state:   ``$LLMOPS_STATE_DIR``  or ``$XDG_STATE_HOME/llmops``  (engine records and logs)
- data:    ``$LLMOPS_DATA_DIR``   or ``$XDG_DATA_HOME/llmops``   (results.db, conversations, envs)
- cache:   ``$LLMOPS_CACHE_DIR``  or ``$XDG_CACHE_HOME/llmops``
- envs:    ``$LLMOPS_ENVS_DIR``   or ``<data>/envs``            (managed engine environments)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "llmops"


def _xdg(var: str, default: str) -> Path:
    value = os.environ.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def _dir(override: str, xdg_var: str, xdg_default: str) -> Path:
    value = os.environ.get(override)
    if value:
        return Path(value).expanduser()
    return _xdg(xdg_var, xdg_default) / APP_NAME


@dataclass(frozen=True)
class Paths:
    config: Path
    state: Path
    data: Path
    cache: Path

    @property
    def user_profiles(self) -> Path:
        return self.config / "profiles"

    @property
    def user_themes(self) -> Path:
        return self.config / "themes"

    @property
    def engines_state(self) -> Path:
        return self.state / "engines"

    @property
    def results_db(self) -> Path:
        return self.data / "results.db"

    @property
    def envs(self) -> Path:
        """Managed engine environments; ``$LLMOPS_ENVS_DIR`` moves them alone
        (CI keeps its engine env across runs while everything else is per test)."""
        value = os.environ.get("LLMOPS_ENVS_DIR")
        if value:
            return Path(value).expanduser()
        return self.data / "envs"


def paths() -> Paths:
    """Resolve the paths now (reads the environment each call, so tests can patch it)."""
    return Paths(
        config=_dir("LLMOPS_CONFIG_DIR", "XDG_CONFIG_HOME", ".config"),
        state=_dir("LLMOPS_STATE_DIR", "XDG_STATE_HOME", ".local/state"),
        data=_dir("LLMOPS_DATA_DIR", "XDG_DATA_HOME", ".local/share"),
        cache=_dir("LLMOPS_CACHE_DIR", "XDG_CACHE_HOME", ".cache"),
    )


def repo_profiles_dir() -> Path | None:
    """The ``profiles/`` folder next to the package when running from a checkout."""
    candidate = Path(__file__).resolve().parent.parent / "profiles"
    return candidate if candidate.is_dir() else None


def profile_search_path() -> list[Path]:
    """Folders searched for profiles, in priority order (first match of a name wins).

    ``$LLMOPS_PROFILES`` (os.pathsep-separated) replaces the default list:
    the user's config folder, then the checkout's ``profiles/``.
    """
    env = os.environ.get("LLMOPS_PROFILES")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    dirs = [paths().user_profiles]
    repo = repo_profiles_dir()
    if repo is not None:
        dirs.append(repo)
    return dirs
