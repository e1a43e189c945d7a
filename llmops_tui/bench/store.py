"""Results store: every load-test run in SQLite (``paths().results_db``).

One row per run (target, workload, load shape, summary, status complete or
partial with its reason) and one row per measured request (failed ones with
their error text). Written in one transaction when a run ends, including runs
stopped early.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmops_tui.bench.metrics import REQUEST_COLUMNS, tpot
from llmops_tui.bench.telemetry import COLUMNS as TELEMETRY_COLUMNS
from llmops_tui.client.records import RequestRecord

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL CHECK (status IN ('complete', 'partial')),
    reason TEXT,
    target TEXT NOT NULL,
    workload TEXT NOT NULL,
    load TEXT NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start_s REAL,
    ttft_ms REAL,
    tpot_ms REAL,
    e2el_ms REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    token_source TEXT,
    status INTEGER,
    error TEXT,
    finish_reason TEXT,
    itl_ms TEXT,
    response_id TEXT,
    PRIMARY KEY (run_id, idx)
);
"""
_TELEMETRY_COLS = ",\n    ".join(
    f"{c} {'TEXT' if c == 'error' else 'REAL'}" for c in TELEMETRY_COLUMNS
)
TELEMETRY_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS telemetry (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    {_TELEMETRY_COLS},
    PRIMARY KEY (run_id, idx)
);
"""
SCHEMA += TELEMETRY_SCHEMA
# v1 → v2: the engine's response id per request, and the telemetry series per run.
MIGRATE_V1 = "ALTER TABLE requests ADD COLUMN response_id TEXT;" + TELEMETRY_SCHEMA


def request_row(rec: RequestRecord, t0: float) -> dict[str, Any]:
    """One request as plain data (``--json`` ``requests`` entries, CSV rows, DB rows)."""
    ttft = rec.ttft
    t = tpot(rec)
    return {
        "start_s": round(rec.start - t0, 6),
        "ttft_ms": None if ttft is None else ttft * 1e3,
        "tpot_ms": None if t is None else t * 1e3,
        "e2el_ms": rec.e2e * 1e3,
        "itl_ms": [round(g * 1e3, 4) for g in rec.itls],
        "prompt_tokens": rec.prompt_tokens,
        "completion_tokens": rec.completion_tokens if rec.ok else None,
        "token_source": rec.token_source or None,
        "status": rec.status,
        "error": rec.error,
        "finish_reason": rec.finish_reason,
        "response_id": rec.response_id,
    }


@dataclass
class StoredRun:
    id: int
    created_at: float
    label: str
    status: str
    reason: str | None
    target: dict[str, Any]
    workload: dict[str, Any]
    load: dict[str, Any]
    summary: dict[str, Any]
    requests: list[dict[str, Any]] | None = None
    telemetry: list[dict[str, Any]] | None = None

    @property
    def partial(self) -> bool:
        return self.status == "partial"

    def title(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.created_at))
        model = self.target.get("model", "?")
        return f"#{self.id} {when} {model}"


def _dumps(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, default=str)


def _nan_to_none(x: Any) -> Any:
    return None if isinstance(x, float) and math.isnan(x) else x


class ResultStore:
    def __init__(self, path: Path, timeout: float = 10.0) -> None:
        self.path = Path(path)
        self.timeout = timeout  # seconds to wait for another writer's lock

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # created owner-only: runs name hosts, models, prompts' sizes
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
        db = sqlite3.connect(self.path, timeout=self.timeout)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                db.executescript(SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version == 1:
                db.executescript(MIGRATE_V1)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"{self.path}: results schema v{version} is newer than this llmops (v{SCHEMA_VERSION})"
                )
            with db:
                yield db
        finally:
            db.close()

    def save(
        self,
        *,
        target: dict[str, Any],
        workload: dict[str, Any],
        load: dict[str, Any],
        summary: dict[str, Any],
        requests: Sequence[dict[str, Any]],
        partial: bool = False,
        reason: str | None = None,
        label: str = "",
        created_at: float | None = None,
        telemetry: Sequence[dict[str, Any]] = (),
    ) -> int:
        """One run, its requests and its telemetry series, in one transaction."""
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO runs (created_at, label, status, reason, target, workload, load, summary)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    created_at or time.time(),
                    label,
                    "partial" if partial else "complete",
                    reason,
                    _dumps(target),
                    _dumps(workload),
                    _dumps(load),
                    _dumps(summary),
                ),
            )
            run_id = int(cur.lastrowid)  # type: ignore[arg-type]
            db.executemany(
                "INSERT INTO requests (run_id, idx, start_s, ttft_ms, tpot_ms, e2el_ms,"
                " prompt_tokens, completion_tokens, token_source, status, error, finish_reason,"
                " itl_ms, response_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        i,
                        r["start_s"],
                        _nan_to_none(r["ttft_ms"]),
                        _nan_to_none(r["tpot_ms"]),
                        r["e2el_ms"],
                        r["prompt_tokens"],
                        r["completion_tokens"],
                        r["token_source"],
                        r["status"],
                        r["error"],
                        r["finish_reason"],
                        json.dumps(r["itl_ms"]),
                        r.get("response_id"),
                    )
                    for i, r in enumerate(requests)
                ],
            )
            self._insert_telemetry(db, run_id, telemetry)
        return run_id

    def list_runs(self, limit: int = 100) -> list[StoredRun]:
        if not self.path.exists():
            return []
        with self._db() as db:
            rows = db.execute(
                "SELECT id, created_at, label, status, reason, target, workload, load, summary"
                " FROM runs ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [_run(row) for row in rows]

    def get(self, run_id: int, with_requests: bool = False) -> StoredRun | None:
        if not self.path.exists():
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT id, created_at, label, status, reason, target, workload, load, summary"
                " FROM runs WHERE id = ?",
                (run_id,),
            ).fetchone()
            if row is None:
                return None
            run = _run(row)
            if with_requests:
                cols = REQUEST_COLUMNS
                reqs = db.execute(
                    f"SELECT {', '.join(cols)} FROM requests WHERE run_id = ? ORDER BY idx",
                    (run_id,),
                ).fetchall()
                run.requests = [dict(zip(cols, r)) for r in reqs]
                for r in run.requests:
                    r["itl_ms"] = json.loads(r["itl_ms"]) if r["itl_ms"] else []
                run.telemetry = self._telemetry(db, run_id)
        return run

    # -- telemetry series (one row per sample; ``t`` in s from the run's start) ----------
    def save_telemetry(self, run_id: int, points: Sequence[dict[str, Any]]) -> None:
        with self._db() as db:
            self._insert_telemetry(db, run_id, points)

    @staticmethod
    def _insert_telemetry(
        db: sqlite3.Connection, run_id: int, points: Sequence[dict[str, Any]]
    ) -> None:
        if points:
            cols = ", ".join(TELEMETRY_COLUMNS)
            marks = ", ".join("?" * (len(TELEMETRY_COLUMNS) + 2))
            db.executemany(
                f"INSERT INTO telemetry (run_id, idx, {cols}) VALUES ({marks})",
                [
                    (run_id, i, *(_nan_to_none(p.get(c)) for c in TELEMETRY_COLUMNS))
                    for i, p in enumerate(points)
                ],
            )

    def telemetry(self, run_id: int) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self._db() as db:
            return self._telemetry(db, run_id)

    @staticmethod
    def _telemetry(db: sqlite3.Connection, run_id: int) -> list[dict[str, Any]]:
        rows = db.execute(
            f"SELECT {', '.join(TELEMETRY_COLUMNS)} FROM telemetry WHERE run_id = ? ORDER BY idx",
            (run_id,),
        ).fetchall()
        return [dict(zip(TELEMETRY_COLUMNS, r)) for r in rows]

    def delete(self, run_id: int) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0


def stored_load(load: dict[str, Any]) -> dict[str, Any]:
    """A stored load shape with today's key names. Runs stored before the rename say
    ``max_concurrency`` (rows in results.db, files kept for ``llmops bench import``):
    read as ``concurrency``, so old and new runs list and compare alike."""
    if "max_concurrency" in load and "concurrency" not in load:
        load = dict(load)
        load["concurrency"] = load.pop("max_concurrency")
    return load


def _run(row: tuple) -> StoredRun:
    return StoredRun(
        id=row[0],
        created_at=row[1],
        label=row[2],
        status=row[3],
        reason=row[4],
        target=json.loads(row[5]),
        workload=json.loads(row[6]),
        load=stored_load(json.loads(row[7])),
        summary=json.loads(row[8]),
    )
