"""Heavy modules stay out of the TUI's startup (they load in workers when first needed)."""

from __future__ import annotations

import subprocess
import sys

# httpx is not listed: llmops_tui.chat.targets imports it at module level today (~40 ms).
LAZY = ("huggingface_hub", "prometheus_client", "sqlite3", "tokenizers", "pynvml", "psutil")


def test_importing_the_app_leaves_heavy_modules_unloaded():
    code = (
        f"import sys, llmops_tui.ui.app\nprint(','.join(m for m in {LAZY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""
