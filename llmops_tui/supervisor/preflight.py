"""Pre-launch checks that need no engine record: requested GPUs, the interpreter or
executable and its engine module, the port."""

from __future__ import annotations

import os
import shutil
import subprocess

from llmops_tui.engines.base import LaunchSpec, expand
from llmops_tui.profiles.profile import Profile
from llmops_tui.supervisor.health import port_in_use, port_owner
from llmops_tui.telemetry import gpu

IMPORT_CHECK_TIMEOUT_S = 60.0


def port_problems(profile: Profile, replacing_port: int | None = None) -> list[str]:
    """The profile's port taken (unless a swap frees it: ``replacing_port``)."""
    if replacing_port == profile.port or not port_in_use(profile.host, profile.port):
        return []
    owner = port_owner(profile.port)
    who = f"by {owner}" if owner else "by a process llmops cannot see (another user's?)"
    return [f"port {profile.port} on {profile.host} is already in use {who}"]


def api_key_problems(profile: Profile, environ: dict[str, str] | None) -> list[str]:
    """``api_key_env`` naming a variable that is unset or empty: the engine would serve
    without authentication. (TGI refuses ``api_key_env`` itself, with its own reason.)"""
    name = profile.api_key_env
    if not name or profile.engine == "tgi":
        return []
    value = (os.environ if environ is None else environ).get(name)
    if value:
        return []
    state = "is empty" if value == "" else "is not set"
    return [
        f"api_key_env = {name!r} but the variable {name} {state} here; the engine would "
        f"serve without authentication: export {name}=… (the key) first"
    ]


def gpu_problems(profile: Profile) -> list[str]:
    if not profile.gpus:
        return []
    ids = gpu.gpu_ids()
    wanted = profile.gpus.split(",")
    if not ids.available:
        return [f"gpus = {profile.gpus!r} requested but {ids.error}: no GPU can be checked"]
    missing = []
    for g in wanted:
        if g.isdigit():
            if int(g) not in ids.indices:
                missing.append(g)
        elif g not in ids.uuids:
            missing.append(g)
    if missing:
        have = ", ".join(str(i) for i in ids.indices) or "none"
        return [f"GPU {', '.join(missing)} requested but this box has GPU index(es): {have}"]
    return []


def runtime_problems(profile: Profile, spec: LaunchSpec | None) -> list[str]:
    if profile.runtime == "docker":
        return [] if shutil.which("docker") else ["runtime = docker but `docker` is not on PATH"]
    if spec is None:
        return []
    exe = spec.argv[0]
    path = shutil.which(exe) if os.sep not in exe else (exe if os.path.exists(exe) else None)
    if path is None:
        what = "interpreter" if profile.python else "executable"
        given = profile.python or profile.executable or exe
        return [f"{what} {given!r} not found ({expand(given)})"]
    if not os.access(path, os.X_OK):
        return [f"{path} is not executable"]
    if spec.engine_module:
        code = (
            "import importlib.util,sys; "
            f"sys.exit(importlib.util.find_spec({spec.engine_module!r}) is None)"
        )
        try:
            r = subprocess.run(
                [path, "-c", code],
                capture_output=True,
                timeout=IMPORT_CHECK_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **spec.env},  # the engine's own PYTHONPATH etc.
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"cannot run {path}: {exc}"]
        if r.returncode != 0:
            return [
                f"{path} cannot import {spec.engine_module!r}: install it in that "
                "environment or point python = at one that has it"
            ]
    return []
