"""A profile resolved to its interpreter, and checked before a launch."""

from __future__ import annotations

import shutil

from llmops_tui import envprobe
from llmops_tui.engines.base import expand
from llmops_tui.envs.managed import apply_probe, env_python, managed_state
from llmops_tui.envs.records import (
    BROKEN,
    CREATABLE_ENGINES,
    DEFAULT_COMMANDS,
    FAILED,
    INCOMPLETE,
    INSTALLING,
    MISSING,
    PRESENT,
    READY,
    UNKNOWN,
    EngineEnv,
    EnvError,
)
from llmops_tui.profiles.profile import Profile

# ---------------------------------------------------------------------------
# Profiles


def resolve_engine_interpreter(profile: Profile) -> str:
    """What runs the profile's engine: the named env's python, the profile's python
    (expanded), its executable (as is), or the engine's default command.

    Raises EnvError when the named env is missing, failed or half-made.
    """
    if profile.runtime == "docker":
        return "docker"
    if profile.engine_env:
        env = managed_state(profile.engine_env)
        _raise_unless_ready(profile, env)
        return str(env_python(profile.engine_env))
    if profile.python:
        return expand(profile.python)
    if profile.executable:
        return profile.executable
    return DEFAULT_COMMANDS.get(profile.engine, profile.engine)


def _create_hint(name: str, engine: str) -> str:
    creatable = engine if engine in CREATABLE_ENGINES else "vllm"
    return f"llmops envs create {name} --engine {creatable}"


def _raise_unless_ready(profile: Profile, env: EngineEnv) -> None:
    name = env.name
    if env.status == MISSING:
        raise EnvError(
            f"profile '{profile.name}': no engine environment '{name}'; "
            f"create it with: {_create_hint(name, profile.engine)}"
        )
    if env.status == FAILED:
        raise EnvError(
            f"profile '{profile.name}': engine environment '{name}' failed to install "
            f"({env.message}); see {env.install_log} and recreate it with: "
            f"{_create_hint(name, env.engine or profile.engine)} --no-reuse"
        )
    if env.status == INCOMPLETE:
        raise EnvError(
            f"profile '{profile.name}': engine environment '{name}' is half-made (its install "
            f"did not finish); recreate it with: "
            f"{_create_hint(name, profile.engine)} --no-reuse"
        )
    if env.status == INSTALLING:
        raise EnvError(
            f"profile '{profile.name}': engine environment '{name}' is still being installed "
            f"({env.message})"
        )
    if env.engine and env.engine != profile.engine:
        raise EnvError(
            f"profile '{profile.name}' runs {profile.engine} but engine environment "
            f"'{name}' holds {env.engine}"
        )


def check_launch_env(
    profile: Profile, timeout: float = envprobe.DEFAULT_TIMEOUT_S, use_cache: bool = True
) -> EngineEnv:
    """The pre-launch check: resolve the interpreter and make sure the engine imports in it.

    Returns the probed env; raises EnvError with a message that says what to do.
    Profiles with an executable (or the default command) or a Docker runtime are
    only checked for the command being there.
    """
    interp = resolve_engine_interpreter(profile)
    if profile.runtime == "docker":
        return EngineEnv(name=profile.image or "docker", kind="docker", status=PRESENT)
    if not profile.engine_env and not profile.python:
        if shutil.which(expand(interp)) is None:
            raise EnvError(
                f"profile '{profile.name}': '{interp}' is not on PATH; set python = "
                '"…/bin/python" or env = "NAME" (llmops envs list shows what is installed)'
            )
        return EngineEnv(name=interp, kind="path", executable=interp, status=READY)
    if profile.engine_env:
        env = managed_state(profile.engine_env)
    else:
        env = EngineEnv(name=f"profile {profile.name}", kind="profile", interpreter=interp)
    apply_probe(env, envprobe.probe(interp, "auto", timeout, use_cache=use_cache))
    where = f"engine environment '{profile.engine_env}'" if profile.engine_env else interp
    if env.status in (MISSING, UNKNOWN) or (env.status == BROKEN and env.python_version is None):
        raise EnvError(f"profile '{profile.name}': {where}: {env.message}")
    if env.engine != profile.engine:
        found = f"holds {env.engine}" if env.engine else "has no engine installed"
        raise EnvError(f"profile '{profile.name}' runs {profile.engine} but {where} {found}")
    if env.importable is False:
        raise EnvError(
            f"profile '{profile.name}': {profile.engine} does not import in {where}: "
            f"{env.import_error}"
        )
    return env
