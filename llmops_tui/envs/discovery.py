"""Discovering envs that llmops did not make: the current interpreter, engines on PATH,
interpreters named in profiles, engine images in Docker."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from llmops_tui import envprobe
from llmops_tui.docker_images import DockerState, docker_state
from llmops_tui.engines.base import expand
from llmops_tui.envs.managed import apply_probe, env_dir, env_python, managed_names, managed_state
from llmops_tui.envs.records import (
    FAILED,
    INCOMPLETE,
    INSTALLING,
    MISSING,
    NOT_PULLED,
    PATH_COMMANDS,
    PRESENT,
    READY,
    UNKNOWN,
    EngineEnv,
)

# ---------------------------------------------------------------------------
# Discovery


def _shebang_interpreter(script: Path) -> str | None:
    """The Python a console script runs with (plain shebang, or pip's sh/exec form)."""
    try:
        with open(script, "rb") as f:
            head = f.read(1024).decode("utf-8", "replace")
    except OSError:
        return None
    if not head.startswith("#!"):
        return None
    first = head.splitlines()[0]
    m = re.search(r"""exec' "?([^"\s]+)"?""", head) if first.strip() == "#!/bin/sh" else None
    if m:
        return m.group(1)
    cmd = shlex.split(first[2:].strip()) if first[2:].strip() else []
    if cmd and Path(cmd[0]).name == "env" and len(cmd) > 1:
        return shutil.which(cmd[1])
    if cmd and "python" in Path(cmd[0]).name:
        return cmd[0]
    return None


def _tgi_launcher_version(exe: str, timeout: float = 10.0) -> tuple[str | None, str | None]:
    """(version, error) from ``text-generation-launcher --version``."""
    try:
        proc = subprocess.run(
            [exe, "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"cannot run {exe} --version: {exc}"
    m = re.search(r"(\d+\.\d+[\w.+-]*)", proc.stdout)
    if proc.returncode != 0 or not m:
        return None, f"{exe} --version failed (exit {proc.returncode})"
    return m.group(1), None


def discover(
    include_profiles: bool = True,
    include_docker: bool = True,
    import_check: bool = True,
    timeout: float = envprobe.DEFAULT_TIMEOUT_S,
    use_cache: bool = True,
) -> tuple[list[EngineEnv], DockerState | None]:
    """Every engine environment the app can find, probed in parallel.

    Returns the envs (managed first) and Docker's state (None when not asked).
    """
    envs: list[EngineEnv] = []
    by_interp: dict[str, EngineEnv] = {}

    def add(env: EngineEnv) -> EngineEnv:
        key = os.path.abspath(env.interpreter) if env.interpreter else None
        if key and key in by_interp:
            by_interp[key].sources.extend(s for s in env.sources if s not in by_interp[key].sources)
            return by_interp[key]
        envs.append(env)
        if key:
            by_interp[key] = env
        return env

    for name in managed_names():
        add(managed_state(name))

    add(EngineEnv(name="current", kind="current", interpreter=sys.executable, sources=["app"]))

    tgi_envs: list[EngineEnv] = []
    for command in PATH_COMMANDS:
        exe = shutil.which(command)
        if exe is None:
            continue
        if command == "text-generation-launcher":
            tgi_envs.append(
                EngineEnv(name=command, kind="path", executable=exe, engine="tgi", sources=["PATH"])
            )
            continue
        interp = _shebang_interpreter(Path(exe))
        env = EngineEnv(
            name=f"{command} (PATH)",
            kind="path",
            interpreter=interp,
            executable=exe,
            sources=[f"PATH {exe}"],
        )
        if interp is None:
            env.status, env.message = UNKNOWN, f"{exe} is not a Python console script"
            envs.append(env)
        else:
            add(env)

    profile_images: dict[str, list[str]] = {}
    if include_profiles:
        from llmops_tui.profiles.store import list_profiles

        for entry in list_profiles():
            p = entry.profile
            if p is None:
                continue
            if p.runtime == "docker":
                if p.image:
                    profile_images.setdefault(p.image, []).append(p.name)
                continue
            if p.engine_env:
                if not env_dir(p.engine_env).exists():
                    env = add(managed_state(p.engine_env))
                    env.sources.append(f"profile {p.name}")
                else:
                    env = by_interp.get(os.path.abspath(env_python(p.engine_env)))
                    if env is not None:
                        env.sources.append(f"profile {p.name}")
                continue
            interp = expand(p.python) if p.python else None
            if interp is None and p.executable:
                exe = shutil.which(expand(p.executable))
                if exe and Path(exe).name == "text-generation-launcher":
                    continue  # already listed from PATH, or listed below
                interp = _shebang_interpreter(Path(exe)) if exe else None
            if interp:
                add(
                    EngineEnv(
                        name=f"profile {p.name}",
                        kind="profile",
                        interpreter=interp,
                        sources=[f"profile {p.name}"],
                    )
                )

    to_probe = [
        e.interpreter
        for e in envs
        if e.interpreter and e.status not in (MISSING, INSTALLING, FAILED, INCOMPLETE)
    ]
    results = envprobe.probe_many(
        to_probe, "auto" if import_check else None, timeout=timeout, use_cache=use_cache
    )
    for env in envs:
        if env.interpreter in results:
            apply_probe(env, results[env.interpreter])

    for env in tgi_envs:
        version, error = _tgi_launcher_version(env.executable or "")
        env.engine_version = version
        env.status, env.message = (READY, "") if version else (UNKNOWN, error or "")
        envs.append(env)

    docker: DockerState | None = None
    if include_docker:
        docker = docker_state()
        envs.extend(docker_envs(docker, profile_images))
    return _merge_same_env(envs), docker


def _merge_same_env(envs: list[EngineEnv]) -> list[EngineEnv]:
    """``/v/bin/python`` and ``/v/bin/python3`` are one env: merge those whose probe
    reported the same prefix and executable."""
    out: list[EngineEnv] = []
    seen: dict[tuple[str, str], EngineEnv] = {}
    for env in envs:
        key = None
        if env.interpreter and env.python_version:
            real = os.path.realpath(env.interpreter)
            prefix = Path(env.interpreter).parent.parent
            key = (str(prefix.resolve()), real)
        if key and key in seen:
            first = seen[key]
            first.sources.extend(s for s in env.sources if s not in first.sources)
            continue
        if key:
            seen[key] = env
        out.append(env)
    return out


def docker_envs(state: DockerState, profile_images: dict[str, list[str]]) -> list[EngineEnv]:
    """Engine images present, plus images profiles name (present, not pulled, or unknown)."""
    from llmops_tui.docker_images import ENGINE_REPOSITORIES

    out: list[EngineEnv] = []
    listed: set[str] = set()
    for image in state.engine_images():
        users = profile_images.get(image.ref, [])
        out.append(
            EngineEnv(
                name=image.ref,
                kind="docker",
                status=PRESENT,
                engine=image.engine,
                engine_version=image.tag,
                message=f"{image.size} {image.created}".strip(),
                sources=["docker"] + [f"profile {n}" for n in users],
            )
        )
        listed.add(image.ref)
    for ref, users in profile_images.items():
        if ref in listed or state.has(ref):
            if ref not in listed:
                out.append(
                    EngineEnv(
                        name=ref,
                        kind="docker",
                        status=PRESENT,
                        sources=[f"profile {n}" for n in users],
                    )
                )
            continue
        repo, _, tag = ref.rpartition(":") if ":" in ref.rsplit("/", 1)[-1] else (ref, "", "")
        env = EngineEnv(
            name=ref,
            kind="docker",
            engine=ENGINE_REPOSITORIES.get(repo),
            engine_version=tag or None,
            sources=[f"profile {n}" for n in users],
        )
        if state.available:
            env.status, env.message = NOT_PULLED, f"not pulled; docker pull {ref}"
        else:
            env.status, env.message = UNKNOWN, state.message
        out.append(env)
    return out
