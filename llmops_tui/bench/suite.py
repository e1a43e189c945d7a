"""Bake-off suites: TOML files listing the scenarios every engine runs.

Built-in suites live in ``llmops_tui/suites/*.toml`` (package data); the
user's in ``<config>/suites/*.toml`` (a user suite with a built-in's name wins).
Every problem in a suite file is reported, each with the file, the line and
the field (``scenario[2].concurrency``) and what was expected.

Example::

    name = "mine"
    description = "what it measures"
    warmup = 4              # requests sent to each engine before its first scenario
    temperature = 0.01      # default for every scenario

    [[scenario]]
    name = "sequential-short"
    input_len = 50
    output_len = 500
    num_requests = 10
    concurrency = 1

    [[scenario]]
    name = "shared-prefix"
    dataset = "shared-prefix"
    num_prefixes = 4
    prefix_len = 896
    input_len = 1024
    ...
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from llmops_tui.bench.runner import LoadShape
from llmops_tui.bench.workload import DATASETS, WorkloadSpec

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "suites"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HEADER_RE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ARRAY_HEADER_RE = re.compile(r"^\s*\[\[\s*scenario\s*\]\]")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\"'-]+)\s*=")


@dataclass(frozen=True)
class SuiteIssue:
    file: str
    field: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        what = f"{self.field}: " if self.field else ""
        return f"{where}: {what}{self.message}"


class SuiteError(Exception):
    """A suite that cannot be used; ``issues`` lists every problem found."""

    def __init__(self, issues: list[SuiteIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class SuiteNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Scenario:
    name: str
    workload: WorkloadSpec
    shape: LoadShape
    sweep: tuple[int, ...] | None = None  # concurrency steps (a capacity sweep scenario)
    slo: tuple[float | None, float | None, float | None] = (None, None, None)  # TTFT/TPOT/E2EL ms

    @property
    def concurrency(self) -> int | None:
        return self.shape.concurrency

    def describe(self) -> dict[str, Any]:
        w = self.workload
        return {
            "name": self.name,
            "dataset": w.dataset,
            "num_requests": w.num_requests,
            "input_len": w.input_len,
            "output_len": w.output_len,
            "concurrency": self.shape.concurrency,
            "request_rate": None
            if math.isinf(self.shape.request_rate)
            else self.shape.request_rate,
            "temperature": w.temperature,
            "ignore_eos": w.ignore_eos,
            "endpoint": w.endpoint,
            "num_prefixes": w.num_prefixes if w.dataset == "shared-prefix" else None,
            "prefix_len": w.prefix_len if w.dataset == "shared-prefix" else None,
            "sweep": list(self.sweep) if self.sweep else None,
            "slo_ms": dict(zip(("ttft", "tpot", "e2el"), self.slo)) if any(self.slo) else None,
        }


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    scenarios: tuple[Scenario, ...]
    warmup: int = 2
    path: Path | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "warmup": self.warmup,
            "path": str(self.path) if self.path else None,
            "scenarios": [s.describe() for s in self.scenarios],
        }


# field → (types accepted, expected text)
_INT = (int,)
_NUM = (int, float)
TOP_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), "a name of letters, digits, '.', '_' or '-'"),
    "description": ((str,), "a text"),
    "warmup": (_INT, "a whole number ≥ 0 of warm-up requests per engine"),
    "temperature": (_NUM, "a number in [0, 2]"),
    "scenario": ((list,), "[[scenario]] tables"),
}
SCENARIO_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "name": ((str,), "a name of letters, digits, '.', '_' or '-'"),
    "dataset": ((str,), f"one of {', '.join(DATASETS)}"),
    "num_requests": (_INT, "a whole number ≥ 1"),
    "input_len": (_INT, "a whole number ≥ 1 (prompt tokens)"),
    "output_len": (_INT, "a whole number ≥ 1 (max output tokens)"),
    "concurrency": (_INT, "a whole number ≥ 1 (requests in flight)"),
    "request_rate": (_NUM, "a number > 0 of requests/s (leave out: all at once)"),
    "temperature": (_NUM, "a number in [0, 2]"),
    "ignore_eos": ((bool,), "true or false"),
    "endpoint": ((str,), "completions or chat"),
    "num_prefixes": (_INT, "a whole number ≥ 1"),
    "prefix_len": (_INT, "a whole number ≥ 1, below input_len"),
    "range_ratio": (_NUM, "a number in [0, 1)"),
    "seed": (_INT, "a whole number"),
    "sweep": ((list,), "a list of concurrencies, e.g. [1, 4, 16, 64] (each step: num_requests)"),
    "slo_ttft_ms": (_NUM, "a number > 0 of ms (TTFT p99, sweep scenarios)"),
    "slo_tpot_ms": (_NUM, "a number > 0 of ms (TPOT p99, sweep scenarios)"),
    "slo_e2el_ms": (_NUM, "a number > 0 of ms (E2E latency p99, sweep scenarios)"),
}
REQUIRED_SCENARIO = ("name", "input_len", "output_len", "num_requests")


class _Lines:
    """Line of each key: top level, or inside the n-th ``[[scenario]]``."""

    def __init__(self, text: str):
        self.top: dict[str, int] = {}
        self.scenario_header: list[int] = []
        self.scenario_keys: list[dict[str, int]] = []
        section: str | None = None
        for no, line in enumerate(text.splitlines(), start=1):
            if _ARRAY_HEADER_RE.match(line):
                section = "scenario"
                self.scenario_header.append(no)
                self.scenario_keys.append({})
                continue
            if _HEADER_RE.match(line):
                section = "other"
                continue
            k = _KEY_RE.match(line)
            if not k:
                continue
            key = k.group(1).strip("\"'")
            if section is None:
                self.top.setdefault(key, no)
            elif section == "scenario":
                self.scenario_keys[-1].setdefault(key, no)

    def line(self, key: str | None, index: int | None) -> int | None:
        if index is None:
            return self.top.get(key) if key else None
        if index >= len(self.scenario_keys):
            return None
        if key is None:
            return self.scenario_header[index]
        return self.scenario_keys[index].get(key, self.scenario_header[index])


class _Checker:
    def __init__(self, file: str, text: str):
        self.file = file
        self.lines = _Lines(text)
        self.issues: list[SuiteIssue] = []

    def error(self, key: str | None, message: str, index: int | None = None) -> None:
        name = key
        if index is not None:
            name = f"scenario[{index + 1}]" + (f".{key}" if key else "")
        self.issues.append(SuiteIssue(self.file, name, message, self.lines.line(key, index)))


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _typed(c: _Checker, data: dict[str, Any], schema: dict, index: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in schema:
            import difflib

            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            c.error(key, f"unknown field{hint} (known: {', '.join(schema)})", index)
            continue
        types, expected = schema[key]
        if not _type_ok(value, types):
            c.error(key, f"expected {expected}, got {type(value).__name__} {value!r}", index)
            continue
        out[key] = value
    return out


def _scenario(c: _Checker, raw: Any, index: int, defaults: dict[str, Any]) -> Scenario | None:
    if not isinstance(raw, dict):
        c.error(None, "expected a [[scenario]] table", index)
        return None
    before = len(c.issues)
    v = _typed(c, raw, SCENARIO_FIELDS, index)
    for key in REQUIRED_SCENARIO:
        if key not in raw:
            c.error(key, f"missing; expected {SCENARIO_FIELDS[key][1]}", index)
    if "name" in v and not NAME_RE.match(v["name"]):
        c.error("name", f"{v['name']!r} is not {SCENARIO_FIELDS['name'][1]}", index)
    if any(k not in v for k in REQUIRED_SCENARIO):
        return None
    input_len = v["input_len"]
    spec = WorkloadSpec(
        dataset=v.get("dataset", "random"),
        num_requests=v["num_requests"],
        input_len=input_len,
        output_len=v["output_len"],
        ignore_eos=v.get("ignore_eos", True),
        endpoint=v.get("endpoint", "completions"),
        num_prefixes=v.get("num_prefixes", 4),
        prefix_len=v.get("prefix_len", max(1, input_len * 3 // 4)),
        seed=v.get("seed", 0),
        range_ratio=float(v.get("range_ratio", 0.0)),
        temperature=float(v.get("temperature", defaults.get("temperature", 0.0))),
    )
    rate = v.get("request_rate")
    shape = LoadShape(
        concurrency=v.get("concurrency"),
        request_rate=math.inf if rate is None else float(rate),
        seed=v.get("seed", 0),
    )
    for err in spec.validate() + shape.validate():
        key, _, msg = err.partition(": ")
        c.error(key, msg, index)
    sweep = v.get("sweep")
    if sweep is not None and (
        not sweep or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in sweep)
    ):
        c.error("sweep", f"{sweep!r} is not {SCENARIO_FIELDS['sweep'][1]}", index)
    slo = tuple(v.get(f"slo_{k}_ms") for k in ("ttft", "tpot", "e2el"))
    for k, x in zip(("ttft", "tpot", "e2el"), slo):
        if x is not None and not x > 0:
            c.error(f"slo_{k}_ms", f"{x} must be > 0", index)
    if len(c.issues) > before:
        return None
    return Scenario(v["name"], spec, shape, tuple(sweep) if sweep else None, slo)


def parse_suite(text: str, file: str | Path = "<suite>") -> Suite:
    """Parse and validate suite text. Raises SuiteError listing every problem."""
    fname = str(file)
    c = _Checker(fname, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", msg)
        col = f", column {m.group(2)}" if m else ""
        raise SuiteError(
            [SuiteIssue(fname, None, f"invalid TOML: {msg}{col}", int(m.group(1)) if m else None)]
        ) from None
    v = _typed(c, data, TOP_FIELDS, None)
    name = v.get("name")
    if name is None and "name" not in data:
        stem = Path(fname).stem if fname != "<suite>" else "custom"
        name = stem if NAME_RE.match(stem) else None
        if name is None:
            c.error("name", f"missing; expected {TOP_FIELDS['name'][1]}")
    elif name is not None and not NAME_RE.match(name):
        c.error("name", f"{name!r} is not {TOP_FIELDS['name'][1]}")
    warmup = v.get("warmup", 2)
    if "warmup" in v and warmup < 0:
        c.error("warmup", f"{warmup} must be ≥ 0")
    temperature = v.get("temperature", 0.0)
    if "temperature" in v and not 0 <= temperature <= 2:
        c.error("temperature", f"{temperature} must be in [0, 2]")
    raw_scenarios = data.get("scenario")
    scenarios: list[Scenario] = []
    if raw_scenarios is None:
        c.error("scenario", "no [[scenario]] table: a suite needs at least one")
    elif isinstance(raw_scenarios, list):
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_scenarios):
            sc = _scenario(c, raw, i, {"temperature": temperature})
            if sc is None:
                continue
            if sc.name in seen:
                c.error("name", f"'{sc.name}' already used by scenario[{seen[sc.name] + 1}]", i)
                continue
            seen[sc.name] = i
            scenarios.append(sc)
    if c.issues:
        raise SuiteError(c.issues)
    path = Path(fname) if fname != "<suite>" else None
    return Suite(
        name=str(name),
        description=str(v.get("description", "")),
        scenarios=tuple(scenarios),
        warmup=warmup,
        path=path,
    )


def load_suite_file(path: str | Path) -> Suite:
    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError([SuiteIssue(str(p), None, "no such file")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError([SuiteIssue(str(p), None, f"cannot read: {exc}")]) from None
    return parse_suite(text, p)


def user_suites_dir() -> Path:
    from llmops_tui.config import paths

    return paths().config / "suites"


def suite_dirs() -> list[Path]:
    """Where suites are looked up by name, first match wins: the user's, then built-ins."""
    return [user_suites_dir(), BUILTIN_DIR]


def list_suites(dirs: list[Path] | None = None) -> list[tuple[str, Path]]:
    """(name, file) of every suite file, a name seen earlier shadowing later ones."""
    seen: set[str] = set()
    out = []
    for d in suite_dirs() if dirs is None else dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.toml")):
            if f.stem not in seen:
                seen.add(f.stem)
                out.append((f.stem, f))
    return out


def find_suite(name_or_path: str, dirs: list[Path] | None = None) -> Suite:
    """A suite by name (user dir, then built-ins) or by file path.

    Raises SuiteError (broken file) or SuiteNotFound.
    """
    candidate = Path(name_or_path).expanduser()
    if name_or_path.endswith(".toml") or candidate.is_file():
        return load_suite_file(candidate)
    found = list_suites(dirs)
    for name, f in found:
        if name == name_or_path:
            return load_suite_file(f)
    import difflib

    names = [n for n, _ in found]
    close = difflib.get_close_matches(name_or_path, names, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    where = ", ".join(str(d) for d in (suite_dirs() if dirs is None else dirs))
    raise SuiteNotFound(
        f"no suite named '{name_or_path}' in {where} (have: {', '.join(names) or 'none'}){hint}"
    )


__all__ = [
    "Scenario",
    "Suite",
    "SuiteError",
    "SuiteIssue",
    "SuiteNotFound",
    "find_suite",
    "list_suites",
    "load_suite_file",
    "parse_suite",
]
