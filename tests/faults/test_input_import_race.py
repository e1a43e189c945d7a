"""Two of the TUI's worker threads importing the profiles package and one of its modules for the
first time at once (the Engines tab's profile list, the Load test form's, chat targets) must not
deadlock: with an __init__ that imported its submodules, thread A held the package's import lock
and waited for ``profiles.profile``'s while thread B held that one and waited for the package's;
Python raised _DeadlockError in one, its worker failed and the app exited (seen once in ~15 runs of
a Load test tab test; 1–2 in 60 runs of six threads importing profiles, engines, bench.form and
chat.targets at once). The package's module creation is slowed here so that the two imports overlap.

The same holds for every package the TUI's threads import: their ``__init__`` files import no
submodule (cut to their docstrings, or lazy facades like ``profiles`` and ``hub``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RACE = r"""
import importlib, importlib.machinery, sys, threading, time

class SlowPackageFinder:
    # the package's module is created slowly: thread A holds the package's import lock and
    # it is not in sys.modules yet (outside the global import lock, unlike find_spec itself)
    def find_spec(self, name, path=None, target=None):
        if name != PACKAGE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        create = spec.loader.create_module

        def slow_create(spec):
            time.sleep(0.5)
            return create(spec)

        spec.loader.create_module = slow_create
        return spec

sys.meta_path.insert(0, SlowPackageFinder())
import llmops_tui

errors = []

def run(fn):
    def wrapped():
        try:
            fn()
        except BaseException as exc:
            errors.append(repr(exc))
    return threading.Thread(target=wrapped)

def a():
    importlib.import_module(PACKAGE)

def b():
    time.sleep(0.2)
    # what engines/base.py does with profiles.profile: takes the module's import lock, then
    # waits for the package's
    importlib.import_module(SUBMODULE)

threads = [run(a), run(b)]
for t in threads:
    t.start()
for t in threads:
    t.join(30)
print("errors:", errors)
sys.exit(1 if errors else 0)
"""


# (package, a submodule its __init__ imported when it re-exported names eagerly)
PACKAGES = [
    ("llmops_tui.profiles", "llmops_tui.profiles.profile"),
    ("llmops_tui.chat", "llmops_tui.chat.store"),
    ("llmops_tui.client", "llmops_tui.client.records"),
    ("llmops_tui.envs", "llmops_tui.envs.records"),
    ("llmops_tui.fit", "llmops_tui.fit.units"),
    ("llmops_tui.hub", "llmops_tui.hub.errors"),
    ("llmops_tui.supervisor", "llmops_tui.supervisor.records"),
    ("llmops_tui.telemetry", "llmops_tui.telemetry.targets"),
    ("llmops_tui.telemetry.scrape", "llmops_tui.telemetry.scrape.stats"),
]


@pytest.mark.parametrize(("package", "submodule"), PACKAGES, ids=[p for p, _ in PACKAGES])
def test_concurrent_first_imports_of_a_package_and_its_module_do_not_deadlock(package, submodule):
    code = f"PACKAGE = {package!r}\nSUBMODULE = {submodule!r}\n" + RACE
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "errors: []" in proc.stdout
