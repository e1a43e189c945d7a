"""Where the app's CSS lives: ``ui/app.tcss`` (the shell: screen, header, help) and one
``ui/tabs/<tab>.tcss`` per tab, with the styles of that tab's widgets and modal screens.

The widgets have no ``DEFAULT_CSS`` (tests/unit/test_css_location.py checks it): a harness
App that mounts one widget on its own (tests/ui, benchmarks) sets ``CSS_PATH = CSS_PATHS``
to get the same styles as the app.
"""

from __future__ import annotations

from pathlib import Path

_UI = Path(__file__).parent
TAB_STYLESHEETS = ("models", "engines", "monitor", "chat", "loadtest")
CSS_PATHS: list[str | Path] = [
    _UI / "app.tcss",
    *(_UI / "tabs" / f"{tab}.tcss" for tab in TAB_STYLESHEETS),
]
