"""Cold start of the TUI: first paint, all five tabs mounted, and the first key after that.

    python benchmarks/startup.py [--runs 10] [--no-bytecode] [--app] [--eager]

Each run is a fresh interpreter, headless at 100×30. The clock starts in this parent just
before the child process is spawned (psutil's create_time is not used: its boot-time base
is rounded to whole seconds) and the child reports, on its stdout:

- READY: Textual's Ready event (the first full paint);
- MOUNTED: all five tabs are in the DOM (ModelsTab … LoadTestTab can be queried);
- KEY: then the key "3" is pressed and the Monitor tab shown (its pane activated and a
  screen refresh done after it): how long a user who presses a key as soon as the app is
  there waits, while the tabs' start-up workers still run.

Bytecode: an installed package has its ``.pyc`` files (pip compiles them at install time).
This box sets ``PYTHONDONTWRITEBYTECODE=1``, so a source checkout never gets them and
every start compiles ``llmops_tui`` from source (~50 ms). By default the benchmark compiles
the package first, as ``pip install`` does, and times the child without that variable;
``--no-bytecode`` times compile-on-every-start instead (``__pycache__`` is moved aside).

The child runs ``llmops_tui.cli.main([])``, what the ``llmops`` command runs; ``--app``
runs ``LlmopsApp().run()`` instead (how this benchmark started the app before). The probe
subclasses LlmopsApp from an import hook, as its module finishes importing, so that
nothing of the app is imported before the command itself imports it. ``--eager`` mounts
every tab before the first paint (the app mounts the tabs out of view right after it,
with textual.lazy.Lazy).

Prints each run, then median and p90 of each figure and the load average (``uptime``'s
1-minute figure) before and after: other work on the box shows up in every figure.
The target (issue 9) is all tabs mounted ≤ 0.5 s.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "llmops_tui"

PROBE = r"""
import importlib.abc
import importlib.machinery
import sys
import time


def say(word):
    # and the main thread's own CPU so far (not the workers'): steadier than the wall
    # clock when other work shares the box
    sys.__stdout__.write(f"{word} {time.thread_time():.6f}\n")
    sys.__stdout__.flush()


def instrument(app_module):
    # Runs as llmops_tui.ui.app finishes importing: nothing of the app is imported earlier
    # than `llmops` itself would.
    from llmops_tui.ui.tabs.chat import ChatTab
    from llmops_tui.ui.tabs.engines import EnginesTab
    from llmops_tui.ui.tabs.loadtest import LoadTestTab
    from llmops_tui.ui.tabs.models import ModelsTab
    from llmops_tui.ui.tabs.monitor import MonitorTab

    tabs = (ModelsTab, EnginesTab, MonitorTab, ChatTab, LoadTestTab)
    created = []  # the tab widgets as the app makes them: polling these is cheap (a DOM
    # query every 2 ms walks ~200 nodes, and slowed the mounting it measured)
    for tab in tabs:
        def init(self, *a, _orig=tab.__init__, **kw):
            _orig(self, *a, **kw)
            if type(self) in tabs:
                created.append(self)
        tab.__init__ = init

    class Probe(app_module.LlmopsApp):
        _key_at = None

        def on_ready(self) -> None:
            say("READY")
            self.set_interval(0.002, self._all_mounted)

        def _all_mounted(self) -> None:
            if self._key_at is None and len(created) == len(tabs):
                if all(w.is_mounted for w in created):
                    say("MOUNTED")
                    self._key_at = time.perf_counter()
                    self.simulate_key("3")

        def on_tabbed_content_tab_activated(self, event) -> None:
            super().on_tabbed_content_tab_activated(event)
            if event.pane.id == "monitor" and self._key_at is not None:
                self.call_after_refresh(self._key_done)

        def _key_done(self) -> None:
            say(f"KEY {time.perf_counter() - self._key_at:.6f}")
            self.exit()

        def run(self, **kwargs):  # headless at 100×30
            return super().run(headless=True, size=(100, 30))

    if "eager" in sys.argv[1:]:  # every tab mounted before the first paint (no Lazy)
        Probe._pane = lambda self, tab_id, widget: widget
    app_module.LlmopsApp = Probe


class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "llmops_tui.ui.app":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        exec_module = spec.loader.exec_module

        def exec_and_instrument(module):
            exec_module(module)
            instrument(module)

        spec.loader.exec_module = exec_and_instrument
        return spec


sys.meta_path.insert(0, Hook())
if "app" in sys.argv[1:]:
    from llmops_tui.ui.app import LlmopsApp

    LlmopsApp().run()
else:
    from llmops_tui.cli import main

    main([])
"""


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summary(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name}: median {statistics.median(ms):.0f} ms, p90 {pct(ms, 90):.0f} ms "
        f"(min {min(ms):.0f}, max {max(ms):.0f})"
    )


def one_run(env: dict[str, str], argv: list[str]) -> dict[str, float]:
    """Seconds: paint, mounted, key (→ tab shown), cpu (child, to exit), main_cpu (the
    child's main thread to all tabs mounted)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", PROBE, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stderr is not None
    marks: dict[str, list[float]] = {}
    for line in proc.stdout:
        word, *rest = line.split()
        marks[word] = [time.perf_counter() - t0, *map(float, rest)]
    err = proc.stderr.read()
    proc.wait(timeout=60)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if not {"READY", "MOUNTED", "KEY"} <= marks.keys() or proc.returncode != 0:
        raise RuntimeError(f"probe failed (exit {proc.returncode}): {err[-3000:]}")
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {
        "paint": marks["READY"][0],
        "mounted": marks["MOUNTED"][0],
        "key": marks["KEY"][1],
        "cpu": cpu,
        "main_cpu": marks["MOUNTED"][1],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--no-bytecode", action="store_true", help="compile on every start")
    ap.add_argument("--app", action="store_true", help="LlmopsApp().run() instead of cli.main([])")
    ap.add_argument(
        "--eager", action="store_true", help="mount every tab before the first paint (no Lazy)"
    )
    args = ap.parse_args()
    env = dict(os.environ)
    argv = ["app"] * args.app + ["eager"] * args.eager
    moved: list[tuple[Path, Path]] = []
    stash = Path(tempfile.mkdtemp(prefix="startup-bench-"))
    if args.no_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        for i, cache in enumerate(sorted(PACKAGE.rglob("__pycache__"))):
            moved.append((cache, stash / str(i)))
            shutil.move(cache, stash / str(i))
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        compileall.compile_dir(PACKAGE, quiet=1)
    runs: list[dict[str, float]] = []
    load_before = os.getloadavg()[0]
    try:
        for i in range(args.runs):
            r = one_run(env, argv)
            runs.append(r)
            print(
                f"run {i + 1}: first paint {r['paint'] * 1000:.0f} ms, "
                f"all tabs mounted {r['mounted'] * 1000:.0f} ms "
                f"(main thread CPU {r['main_cpu'] * 1000:.0f} ms), "
                f"key '3' → Monitor shown {r['key'] * 1000:.0f} ms "
                f"(child CPU to exit {r['cpu'] * 1000:.0f} ms)"
            )
    finally:
        for cache, saved in moved:
            shutil.rmtree(cache, ignore_errors=True)
            shutil.move(saved, cache)
        shutil.rmtree(stash, ignore_errors=True)
    mode = "no bytecode (compile every start)" if args.no_bytecode else "with bytecode"
    mode += ", every tab mounted before the first paint" if args.eager else ""
    print(f"{len(runs)} runs, {mode}{', LlmopsApp().run()' if args.app else ', cli.main([])'}:")
    for key, name in (
        ("paint", "first paint"),
        ("mounted", "all five tabs mounted"),
        ("main_cpu", "main thread CPU to all mounted"),
        ("key", "then key '3' → Monitor shown"),
        ("cpu", "child CPU (all threads, to exit)"),
    ):
        print("  " + summary(name, [r[key] for r in runs]))
    print(f"  load average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
