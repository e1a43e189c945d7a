"""Package facades whose names load on first use (PEP 562).

A package ``__init__`` that imported its submodules to re-export their names could deadlock two
threads importing the package and one of its submodules for the first time at once (each holds
one module's import lock and waits for the other's; Python raises ``_DeadlockError`` in one).
A facade built here imports nothing when the package is imported: a name's module is imported
on first access, after the package's own import has finished.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, homes: dict[str, tuple[str, ...]], namespace: dict[str, Any]
) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``__all__``, ``__getattr__`` and ``__dir__`` for ``package``: ``homes`` maps each submodule
    to the names it defines; ``namespace`` is the package's ``globals()`` (a loaded name is cached
    there)."""
    home_of = {name: module for module, names in homes.items() for name in names}
    names = sorted(home_of)

    def __getattr__(name: str) -> Any:
        module = home_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return names, __getattr__, __dir__
