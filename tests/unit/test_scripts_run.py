"""scripts/run's first start says what it does while pip installs (was ~35 s of blank
terminal). A fake interpreter stands in for python -m venv and pip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FAKE_PY = """#!/bin/sh
# python -m venv DIR
dir="$3"
mkdir -p "$dir/bin"
cat > "$dir/bin/pip" <<'PIP'
#!/bin/sh
echo "Collecting textual>=8.2"
echo "Installing collected packages: textual, llmops-tui"
echo "Successfully installed llmops-tui-0.1.0"
d=$(dirname "$0")
printf '#!/bin/sh\\necho "llmops ran: $*"\\n' > "$d/llmops"
chmod +x "$d/llmops"
PIP
chmod +x "$dir/bin/pip"
"""


def test_first_run_prints_what_it_installs(tmp_path):
    py = tmp_path / "python3"
    py.write_text(FAKE_PY)
    py.chmod(0o755)
    venv = tmp_path / "venv"
    env = {**os.environ, "PYTHON": str(py), "LLMOPS_DEV_VENV": str(venv)}
    out = subprocess.run(
        [str(ROOT / "scripts/run"), "ps"], capture_output=True, text=True, env=env, timeout=30
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("first run: installing llmops into")
    assert "Collecting textual>=8.2" in lines
    assert any(x.startswith("installed in ") for x in lines)
    assert lines[-1] == "llmops ran: ps"
    # the second start installs nothing and says nothing
    again = subprocess.run(
        [str(ROOT / "scripts/run"), "ps"], capture_output=True, text=True, env=env, timeout=30
    )
    assert again.stdout.splitlines() == ["llmops ran: ps"]
