"""Heavy modules stay out of the TUI's startup (they load in workers when first needed)."""

from __future__ import annotations

import subprocess
import sys

LAZY = (
    "huggingface_hub",
    "prometheus_client",
    "sqlite3",
    "tokenizers",
    "pynvml",
    "psutil",
    "httpx",  # the chat tab's engine probes import it, on the chat network thread
    # Markdown rendering of chat replies (~40 ms): imported in a thread 1 s after start
    "rich.markdown",
    "markdown_it",
    "pygments",
    "llmops_tui.fit",
)


def test_importing_the_app_leaves_heavy_modules_unloaded():
    code = (
        f"import sys, llmops_tui.ui.app\nprint(','.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""
