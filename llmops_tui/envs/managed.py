"""Managed envs under ``config.paths().envs``: paths, state files, their state, probing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from llmops_tui import envprobe
from llmops_tui.config import paths
from llmops_tui.envs.records import (
    BROKEN,
    FAILED,
    FAILED_MARKER,
    INCOMPLETE,
    INSTALL_LOG,
    INSTALLING,
    LOCK,
    MARKER,
    MISSING,
    NO_ENGINE,
    READY,
    UNKNOWN,
    EngineEnv,
    EnvError,
)
from llmops_tui.profiles.profile import NAME_RE

# ---------------------------------------------------------------------------
# Managed envs: paths and state files


def envs_dir() -> Path:
    return paths().envs


def env_dir(name: str) -> Path:
    return envs_dir() / name


def env_python(name: str) -> Path:
    """The interpreter of managed env ``name`` (whether or not it exists)."""
    return env_dir(name) / "bin" / "python"


def check_env_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise EnvError(
            f"'{name}' is not a valid environment name; expected 1-64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )


def read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_marker(name: str) -> dict | None:
    return read_json(env_dir(name) / MARKER)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_owner(d: Path) -> int | None:
    """The pid of a live installer holding ``d``, else None."""
    try:
        pid = int((d / LOCK).read_text().strip() or "0")
    except (OSError, ValueError):
        return None
    return pid if pid > 0 and _pid_alive(pid) else None


def managed_state(name: str) -> EngineEnv:
    """A managed env from its state files alone (no probe)."""
    d = env_dir(name)
    env = EngineEnv(
        name=name,
        kind="managed",
        path=str(d),
        interpreter=str(env_python(name)),
        sources=["managed"],
    )
    if (d / INSTALL_LOG).exists():
        env.install_log = str(d / INSTALL_LOG)
    if not d.is_dir():
        env.status, env.message = MISSING, f"no engine environment '{name}' in {envs_dir()}"
        return env
    owner = lock_owner(d)
    if owner is not None:
        env.status, env.message = INSTALLING, f"being installed (pid {owner})"
        return env
    marker = read_json(d / MARKER)
    if marker is not None:
        env.engine = marker.get("engine")
        env.spec = marker.get("spec")
        env.engine_version = marker.get("engine_version")
        env.python_version = marker.get("python_version")
        env.torch_version = marker.get("torch_version")
        env.cuda = marker.get("cuda")
        env.status, env.message = READY, f"created {marker.get('created', '?')}"
        return env
    failed = read_json(d / FAILED_MARKER)
    if failed is not None:
        env.engine = failed.get("engine")
        env.spec = failed.get("spec")
        env.status = FAILED
        env.message = failed.get("error") or "the install failed"
        return env
    env.status = INCOMPLETE
    env.message = (
        "half-made (the install was interrupted); recreate it with: "
        f"llmops envs create {name} --engine ENGINE --no-reuse"
    )
    return env


def managed_names() -> list[str]:
    d = envs_dir()
    if not d.is_dir():
        return []
    return sorted(p.name for p in d.iterdir() if p.is_dir() and NAME_RE.match(p.name))


def get_env(
    name: str, probe: bool = True, timeout: float = envprobe.DEFAULT_TIMEOUT_S
) -> EngineEnv:
    """A managed env; with ``probe`` a READY one is checked by running its interpreter."""
    env = managed_state(name)
    if probe and env.status == READY:
        apply_probe(env, envprobe.probe(env.interpreter, "auto", timeout))
    return env


def apply_probe(env: EngineEnv, result: envprobe.ProbeResult) -> None:
    if not result.ok:
        if env.kind == "managed" and not Path(env.interpreter or "").exists():
            env.status, env.message = BROKEN, f"its interpreter is gone: {result.error}"
        else:
            env.status = MISSING if "no interpreter" in (result.error or "") else UNKNOWN
            env.message = result.error or "the probe failed"
        return
    env.python_version = result.python_version
    env.torch_version = result.torch_version
    env.cuda = result.cuda
    if result.engine is None:
        env.engine = env.engine if env.kind == "managed" else None
        env.status = BROKEN if env.kind == "managed" else NO_ENGINE
        env.message = "no engine installed (vllm, sglang or text-generation-server)"
        env.importable = None
        return
    env.engine = result.engine
    env.engine_dist = result.engine_dist
    env.engine_version = result.engine_version
    env.importable = result.import_ok
    env.import_error = result.import_error
    if result.import_ok is False:
        env.status = BROKEN
        env.message = f"{result.import_module} does not import: {result.import_error}"
    else:
        env.status = READY
        if env.kind != "managed":
            env.message = (
                f"{result.import_module} imports in {result.import_seconds:g} s"
                if result.import_seconds is not None
                else ""
            )
