"""Results are never lost: when ``results.db`` cannot take a run, the run goes to a JSON file.

:func:`save_run` tries the database; on any failure (not a database, corrupt, a
schema it cannot use, a folder, locked by another writer past the timeout, disk
full) it writes the whole run, owner-only, to ``<db folder>/unsaved-runs/`` (or,
if that folder cannot be written, to a private folder under the system temp
dir) and says where, why, and how to move a bad database aside.
``llmops bench import FILE`` stores such a file once the database works again.

:func:`store_problem` words a database failure for ``bench runs``/``show``/
``compare`` and the History tab. :func:`check_output_path` checks ``--json``/
``--csv`` destinations before a run sends anything.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FALLBACK_DIR = "unsaved-runs"
FORMAT = "llmops-unsaved-run/1"
# What ResultStore.save takes, all found in a kept file.
RUN_KEYS = ("target", "workload", "load", "summary", "requests")


def move_aside_command(db: Path) -> str:
    """The shell command that moves ``db`` aside, with its journal files if it has any (a new
    database must not meet the old one's journal)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moves = []
    for suffix in ("", "-journal", "-wal", "-shm"):
        src = Path(f"{db}{suffix}")
        if suffix == "" or src.exists():
            dst = f"{db}.bad-{stamp}{suffix}"
            moves.append(f"mv -- {shlex.quote(str(src))} {shlex.quote(dst)}")
    return " && ".join(moves)


def store_problem(db: Path, exc: BaseException) -> str:
    """Why ``db`` cannot be used and what to do, in one paragraph."""
    db = Path(db)
    reason = str(exc) or type(exc).__name__
    if db.is_dir():
        return (
            f"results database {db} is a folder, not a database file; move it aside "
            f"(llmops then starts a new database): {move_aside_command(db)}"
        )
    quoted = shlex.quote(str(db))
    if isinstance(exc, sqlite3.OperationalError) and "locked" in reason:
        return (
            f"results database {db} is locked by another process ({reason}); try again "
            f"once it is done (`fuser {quoted}` lists the processes that have it open)"
        )
    if "disk is full" in reason or getattr(exc, "errno", None) == errno.ENOSPC:
        return f"no space left for results database {db} ({reason}); free some, then try again"
    if "readonly database" in reason:
        return (
            f"results database {db} is read-only ({reason}); make it writable "
            f"(chmod u+w {quoted}) or move it aside: {move_aside_command(db)}"
        )
    if not db.exists():  # nothing to move aside: its folder is the problem
        return f"results database {db} cannot be created: {reason}"
    if "newer than this llmops" in reason:
        return f"{reason}; use a newer llmops, or move it aside: {move_aside_command(db)}"
    return (
        f"results database {db} cannot be used: {reason}; move it aside "
        f"(llmops then starts a new database): {move_aside_command(db)}"
    )


def fallback_dirs(db: Path) -> list[Path]:
    """Where kept runs go, in order of preference."""
    private_tmp = Path(tempfile.gettempdir()) / f"llmops-{os.getuid()}-{FALLBACK_DIR}"
    return [Path(db).parent / FALLBACK_DIR, private_tmp]


def _private_dir(d: Path) -> None:
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = d.stat()
    if st.st_uid != os.getuid():
        raise PermissionError(f"{d} belongs to another user")
    if st.st_mode & 0o077:
        os.chmod(d, 0o700)


def write_private(path: Path, text: str) -> None:
    """Create ``path`` (must not exist) readable and writable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def keep_run(run: dict[str, Any], db: Path, kind: str = "run") -> Path:
    """Write ``run`` to a new owner-only JSON file; its path. Raises OSError if nowhere works.

    ``kind`` "bakeoff": a bake-off's result (its report), which ``bench import`` does not take."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(run.get("created_at") or time.time()))
    fmt = FORMAT if kind == "run" else f"llmops-unsaved-{kind}/1"
    text = json.dumps({"format": fmt, **run}, indent=1, default=str)
    errors = []
    for d in fallback_dirs(db):
        try:
            _private_dir(d)
            for n in range(100):
                path = d / f"{kind}-{stamp}-{os.getpid()}{f'-{n}' if n else ''}.json"
                try:
                    write_private(path, text)
                    return path
                except FileExistsError:
                    continue
            raise OSError(f"{d}: 100 files named {kind}-{stamp}-{os.getpid()}* already")
        except OSError as exc:
            errors.append(f"{d}: {exc}")
    raise OSError("; ".join(errors))


def kept_runs(db: Path) -> list[Path]:
    """Kept run files waiting for ``llmops bench import``."""
    out: list[Path] = []
    for d in fallback_dirs(db):
        try:
            out.extend(sorted(d.glob("run-*.json")))
        except OSError:
            continue
    return out


def kept_runs_note(db: Path) -> str | None:
    """One line on runs waiting in kept files (for ``bench runs`` and History), or None."""
    kept = kept_runs(db)
    if not kept:
        return None
    folders = sorted({str(p.parent) for p in kept})
    return (
        f"{len(kept)} run(s) not in the database, kept in {', '.join(folders)}; store them with: "
        + " ; ".join(f"llmops bench import {shlex.quote(f)}/run-*.json" for f in folders)
    )


@dataclass
class Saved:
    """Where a run went: ``run_id`` in the database, or ``fallback`` file with ``problem``."""

    run_id: int | None = None
    fallback: Path | None = None
    problem: str | None = None

    @property
    def stored(self) -> bool:
        return self.run_id is not None

    def lines(self, db: Path) -> list[str]:
        if self.run_id is not None:
            return [f"stored as run #{self.run_id} in {db}"]
        out = [f"NOT stored in the results database: {self.problem}"]
        if self.fallback is not None:
            out.append(
                f"the run is kept in {self.fallback} (owner-only); store it once the database "
                f"works: llmops bench import {shlex.quote(str(self.fallback))}"
            )
        else:
            out.append("the run could not be kept in a file either (see above)")
        return out

    def describe(self) -> dict[str, Any]:
        if self.run_id is not None:
            return {"run_id": self.run_id}
        return {
            "run_id": None,
            "not_stored": self.problem,
            "kept_in": None if self.fallback is None else str(self.fallback),
        }


def save_run(store: Any, **run: Any) -> Saved:
    """``store.save(**run)``; on any failure the run is kept in a file instead (never raises)."""
    try:
        return Saved(run_id=store.save(**run))
    except Exception as exc:  # any failure of the database: the run must not be lost
        problem = store_problem(store.path, exc)
    try:
        path = keep_run(run, store.path)
    except OSError as exc:
        return Saved(problem=f"{problem}; could not write a fallback file: {exc}")
    return Saved(fallback=path, problem=problem)


def load_kept_run(path: Path) -> dict[str, Any]:
    """A kept run's ``ResultStore.save`` arguments; ValueError/OSError say what is wrong."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f'{path}: not a run kept by llmops (no "format": "{FORMAT}")')
    missing = [k for k in RUN_KEYS if k not in data]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    keys = (*RUN_KEYS, "partial", "reason", "label", "created_at", "telemetry")
    return {k: data[k] for k in keys if k in data}


def check_output_path(path: Path, flag: str) -> str | None:
    """Why ``path`` cannot be written (``--json``/``--csv``), or None. Leaves no file behind."""
    p = Path(path)
    if p.is_dir():
        return f"{flag} {p}: is a folder; give a file name"
    parent = p.parent
    if not parent.exists():
        return f"{flag} {p}: folder {parent} does not exist"
    if not parent.is_dir():
        return f"{flag} {p}: {parent} is not a folder"
    existed = p.exists()
    try:
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.close(fd)
    except OSError as exc:
        return f"{flag} {p}: cannot write there ({exc.strerror or exc})"
    if not existed:
        try:
            p.unlink()
        except OSError:
            pass
    return None
