"""Bake-off results (per scenario, per engine, per bake-off) and their storage in
``results.db`` (tables ``bakeoffs`` / ``bakeoff_runs``, linked to the load-test runs)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from llmops_tui.bench.store import ResultStore


# -- results ---------------------------------------------------------------------
@dataclass
class ScenarioResult:
    scenario: str
    spec: dict[str, Any]  # Scenario.describe()
    status: str  # complete | partial | failed | not run
    reason: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    run_id: int | None = None
    kept_in: str | None = None  # the file holding the run when results.db could not take it
    gpu_mem_peak_mib: float | None = None  # None: no GPU / NVML ("n/a")
    gpu_mem_steady_mib: float | None = None
    gpu_note: str | None = None
    kv_usage_peak: float | None = None  # 0–1
    prefix_hit_rate: float | None = None  # 0–1 over the scenario; None: no counters
    prefix_queries: float | None = None  # tokens looked up in the prefix cache meanwhile


@dataclass
class EngineResult:
    profile: str
    engine: str
    model: str
    status: str = "pending"  # ok | refused | failed | died | stopped | pending
    reason: str | None = None
    startup_s: float | None = None
    scenarios: list[ScenarioResult] = field(default_factory=list)
    gpu_memory_released: bool | None = None
    stop_note: str | None = None


@dataclass
class BakeoffResult:
    suite: dict[str, Any]
    profiles: list[str]
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    engines: list[EngineResult] = field(default_factory=list)
    partial: bool = False
    reason: str | None = None
    id: int | None = None
    store_problem: str | None = None  # why results.db could not take the bake-off, if it could not

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BakeoffResult:
        engines = []
        for e in d.get("engines", []):
            e = dict(e)
            e["scenarios"] = [ScenarioResult(**s) for s in e.get("scenarios", [])]
            engines.append(EngineResult(**e))
        return cls(**{**d, "engines": engines})


# -- storage ---------------------------------------------------------------------
BAKEOFF_SCHEMA = """
CREATE TABLE IF NOT EXISTS bakeoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    suite TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bakeoff_runs (
    bakeoff_id INTEGER NOT NULL REFERENCES bakeoffs(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    profile TEXT NOT NULL,
    scenario TEXT NOT NULL,
    PRIMARY KEY (bakeoff_id, run_id)
);
"""


class BakeoffStore:
    """Bake-offs in the results database, next to (and linking) their runs."""

    def __init__(self, results: ResultStore):
        self.results = results

    def _db(self):
        return self.results._db()

    def create(self, result: BakeoffResult) -> int:
        with self._db() as db:
            db.executescript(BAKEOFF_SCHEMA)
            cur = db.execute(
                "INSERT INTO bakeoffs (created_at, suite, status, result) VALUES (?, ?, ?, ?)",
                (result.started_at, result.suite["name"], "running", "{}"),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def link(self, bakeoff_id: int, run_id: int, profile: str, scenario: str) -> None:
        with self._db() as db:
            db.execute(
                "INSERT OR REPLACE INTO bakeoff_runs VALUES (?, ?, ?, ?)",
                (bakeoff_id, run_id, profile, scenario),
            )

    def finish(self, result: BakeoffResult) -> None:
        assert result.id is not None
        status = "partial" if result.partial else "complete"
        with self._db() as db:
            db.execute(
                "UPDATE bakeoffs SET status = ?, result = ? WHERE id = ?",
                (status, json.dumps(result.to_dict(), default=str), result.id),
            )

    def get(self, bakeoff_id: int) -> BakeoffResult | None:
        with self._db() as db:
            db.executescript(BAKEOFF_SCHEMA)
            row = db.execute("SELECT result FROM bakeoffs WHERE id = ?", (bakeoff_id,)).fetchone()
        if row is None or row[0] == "{}":
            return None
        return BakeoffResult.from_dict(json.loads(row[0]))

    def run_ids(self, bakeoff_id: int) -> list[tuple[int, str, str]]:
        with self._db() as db:
            db.executescript(BAKEOFF_SCHEMA)
            return [
                (r[0], r[1], r[2])
                for r in db.execute(
                    "SELECT run_id, profile, scenario FROM bakeoff_runs WHERE bakeoff_id = ?"
                    " ORDER BY run_id",
                    (bakeoff_id,),
                )
            ]
