"""Sleep-mode engines: put one to sleep, wake one, swap two resident engines in about a second.

An engine launched with ``sleep_mode = true`` (``engines/sleep.py`` says what each engine does)
stays resident while asleep: its weights in host memory, its KV cache (and for SGLang its CUDA
graphs) freed. ``resident_swap`` sleeps A then wakes B — the engines' own calls (~0.3 s for a
0.7 B model on the H200) instead of a stop and a cold start (66.6 s). The record's phase is
``sleeping`` while asleep; for vLLM the engine's ``/is_sleeping`` is asked again (at most once
a second per engine) so that a sleep made outside llmops shows too.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llmops_tui.engines import adapter
from llmops_tui.engines.sleep import SleepApi, SleepCall
from llmops_tui.supervisor.records import (
    SERVING_PHASES,
    EngineNotFound,
    EngineRecord,
)

if TYPE_CHECKING:
    from llmops_tui.supervisor.core import Supervisor

STATE_PROBE_INTERVAL_S = 1.0
LOCK_WAIT_S = 10.0  # a launch's preflight or a stop of the same engine: wait this long
_last_probe: dict[str, float] = {}


class SleepError(RuntimeError):
    """A sleep or wake the engine refused or did not answer; the message says which and why."""


@dataclass
class Step:
    what: str  # "sleep A", "wake B", ...
    seconds: float
    detail: str = ""


@dataclass
class SwapReport:
    from_name: str
    to_name: str
    steps: list[Step] = field(default_factory=list)
    record: EngineRecord | None = None  # the woken engine

    @property
    def engine_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)


def sleep_api(rec: EngineRecord) -> SleepApi | None:
    """The engine's sleep calls when it was launched able to sleep, else None."""
    if not rec.sleep_mode:
        return None
    return getattr(adapter(rec.engine), "SLEEP", None)


def _headers(rec: EngineRecord) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if rec.api_key_env and os.environ.get(rec.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[rec.api_key_env]}"
    return headers


class _NoAnswer(OSError):
    pass


def _request(
    rec: EngineRecord, method: str, path: str, body: bytes | None, timeout: float
) -> tuple[int, str]:
    """One loopback HTTP call with the standard library (httpx costs ~0.1 s of import in a
    command whose point is to take well under a second)."""
    import http.client
    from urllib.parse import urlsplit

    url = urlsplit(rec.base_url)
    conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(url.hostname or "127.0.0.1", url.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=_headers(rec))
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        raise _NoAnswer(f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def _call(
    rec: EngineRecord, call: SleepCall, what: str, timeout: float = 120.0
) -> tuple[float, str]:
    """Make one sleep/wake call; (seconds, the engine's answer) or SleepError."""
    t = time.perf_counter()
    try:
        status, text = _request(rec, call.method, call.path, call.body, timeout)
    except _NoAnswer as exc:
        raise SleepError(
            f"{rec.name}: {what} ({call.method} {call.path}) got no answer: {exc}"
        ) from exc
    took = time.perf_counter() - t
    body = text.strip()
    if status == 404:
        raise SleepError(
            f"{rec.name}: {call.path} answered 404: the engine does not serve the sleep "
            "endpoints (vLLM needs VLLM_SERVER_DEV_MODE=1 and --enable-sleep-mode: set "
            "sleep_mode = true in its profile and launch it again)"
        )
    if status >= 400:
        raise SleepError(f"{rec.name}: {what} refused (HTTP {status}): {body[:300]}")
    return took, body


def query_state(rec: EngineRecord, timeout: float = 1.0) -> bool | None:
    """True asleep / False awake per the engine itself; None when it cannot say."""
    api = sleep_api(rec)
    if api is None or api.state_path is None:
        return None
    try:
        status, text = _request(rec, "GET", api.state_path, None, timeout)
    except _NoAnswer:
        return None
    return api.parse_state(text) if status == 200 else None


def _set_phase(rec: EngineRecord, asleep: bool) -> None:
    if asleep:
        rec.phase = "sleeping"
        rec.slept_at = rec.slept_at or time.time()
        rec.progress = "asleep (sleep mode): weights in host memory, serving nothing"
    else:
        rec.phase = "ready"
        rec.slept_at = None
        rec.progress = f"ready on {rec.base_url}"


def sync_phase(rec: EngineRecord, now: float | None = None) -> None:
    """ready ↔ sleeping from the engine's own answer (vLLM), at most once a second per engine.

    Called by the supervisor's refresh on serving sleep-mode engines; an engine that cannot say
    (SGLang) keeps the phase llmops set.
    """
    now = time.monotonic() if now is None else now
    key = f"{rec.name}:{rec.pid}"
    if now - _last_probe.get(key, -1e9) < STATE_PROBE_INTERVAL_S:
        return
    _last_probe[key] = now
    state = query_state(rec, timeout=0.5)
    if state is not None and state != (rec.phase == "sleeping"):
        _set_phase(rec, state)


def _serving(sup: Supervisor, name: str) -> EngineRecord:
    rec = sup.get(name)
    if rec is None:
        raise EngineNotFound(f"no engine named '{name}'")
    return rec


def _check_can_sleep(rec: EngineRecord) -> SleepApi:
    api = sleep_api(rec)
    if api is None:
        why = (
            "its engine has no sleep mode"
            if getattr(adapter(rec.engine), "SLEEP", None) is None
            else "it was not launched with sleep_mode = true"
        )
        raise SleepError(f"{rec.name} cannot sleep: {why}")
    if rec.phase not in SERVING_PHASES:
        raise SleepError(f"{rec.name} is {rec.phase}, not serving")
    return api


def set_asleep(sup: Supervisor, name: str, asleep: bool) -> Step:
    """Put ``name`` to sleep (or wake it); a Step with the engine call's time. No-op if it is
    already in that state (0 s, detail says so)."""
    from llmops_tui.supervisor.locks import EngineBusy, engine_lock

    what = "sleep" if asleep else "wake"
    try:
        # Not while another llmops launches or stops it (a stop racing a sleep would leave a
        # 'sleeping' record of a stopped engine).
        with sup._lock, engine_lock(sup.state_dir, name, "sleeping" if asleep else "waking",
                                    LOCK_WAIT_S):  # fmt: skip
            return _set_asleep_locked(sup, name, asleep, what)
    except EngineBusy as exc:
        raise SleepError(f"not {'sleeping' if asleep else 'waking'} {name}: {exc}") from exc


def _set_asleep_locked(sup: Supervisor, name: str, asleep: bool, what: str) -> Step:
    """set_asleep's work, under the supervisor's lock and the engine's lock."""
    rec = _serving(sup, name)
    api = _check_can_sleep(rec)
    if (rec.phase == "sleeping") == asleep:
        return Step(f"{what} {name}", 0.0, f"already {rec.phase}")
    took, body = _call(rec, api.sleep if asleep else api.wake, what)
    if api.state_path is not None:
        state = query_state(rec)
        if state is not None and state != asleep:
            raise SleepError(
                f"{name}: {what} answered {body[:120]!r} but {api.state_path} says "
                f"{'asleep' if state else 'awake'}"
            )
    _set_phase(rec, asleep)
    _last_probe[f"{rec.name}:{rec.pid}"] = time.monotonic()
    sup._save(rec)
    return Step(f"{what} {name}", took, body[:120])


def resident(sup: Supervisor, name: str) -> EngineRecord | None:
    """``name``'s record when it is up (ready or asleep) and able to sleep, else None."""
    rec = sup.get(name)
    if rec is None or rec.phase not in SERVING_PHASES or sleep_api(rec) is None:
        return None
    return rec


def resident_pair(a: EngineRecord | None, b: EngineRecord | None) -> bool:
    """Both records up (ready or asleep) and launched able to sleep (no I/O: the Engines tab
    asks on its own thread, with the records it shows)."""
    return all(
        getattr(r, "sleep_mode", False) and r.phase in SERVING_PHASES and sleep_api(r) is not None
        for r in (a, b)
    )


def can_swap_resident(sup: Supervisor, from_name: str, to_name: str) -> bool:
    """Both engines up and able to sleep: the swap is a sleep and a wake, no launch."""
    return from_name != to_name and all(resident(sup, n) for n in (from_name, to_name))


def resident_swap(sup: Supervisor, from_name: str, to_name: str) -> SwapReport:
    """Sleep ``from_name`` (its GPU memory freed first), then wake ``to_name``.

    If the wake fails, ``from_name`` is woken again so that one engine serves; SleepError then
    says what happened to both.
    """
    report = SwapReport(from_name, to_name)
    report.steps.append(set_asleep(sup, from_name, True))
    try:
        report.steps.append(set_asleep(sup, to_name, False))
    except SleepError as exc:
        try:
            set_asleep(sup, from_name, False)
            back = f"{from_name} woken again and serving"
        except SleepError as exc2:
            back = f"{from_name} could not be woken again either: {exc2}"
        raise SleepError(f"{exc}; {back}") from exc
    report.record = sup.get(to_name)
    return report


def gpu_mib_of(sup: Supervisor, name: str) -> int | None:
    """MiB of GPU memory the engine's processes hold now (NVML); None when NVML cannot tell."""
    from llmops_tui.telemetry.gpu import gpu_memory_by_pid

    usage = gpu_memory_by_pid()
    if usage is None:
        return None
    try:
        pids = set(sup.process_pids(name))
    except EngineNotFound:
        return None
    return sum(usage.get(p, 0) for p in pids) // (1024 * 1024)


def _same_endpoint(a: str, b: str) -> bool:
    def norm(u: str) -> str:
        u = u.rstrip("/")
        if u.endswith("/v1"):
            u = u[:-3]
        return u.replace("://localhost:", "://127.0.0.1:")

    return norm(a) == norm(b)


def asleep_message(base_url: str, state_dir=None) -> str | None:
    """A clear refusal when ``base_url`` is an engine of ours that is asleep, else None.

    Chat and load test ask before sending: a request to a sleeping vLLM is accepted and waits
    until a wake (the scheduler is paused), so an error would never come.
    """
    from llmops_tui.supervisor.core import Supervisor

    try:
        sup = Supervisor(state_dir)
        for raw in sup._all_raw():
            if not raw.sleep_mode or raw.phase not in SERVING_PHASES:
                continue
            if not _same_endpoint(raw.base_url, base_url):
                continue
            rec = sup.refresh(raw)
            if rec.phase == "sleeping":
                return (
                    f"{rec.name} is asleep (sleep mode: its weights are in host memory and it "
                    f"serves nothing); wake it with `llmops wake {rec.name}` or "
                    f"`llmops swap OTHER {rec.name}`"
                )
    except OSError:
        return None
    return None
