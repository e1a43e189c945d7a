"""Where chat replies can come from: profiles whose engine answers ``/v1/models``."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Iterable

from llmops_tui.chat.model import ChatTarget

# A probe cancelled while anyio (under httpx) opens its connection leaves an unstarted
# connect coroutine behind: "RuntimeWarning: coroutine 'connect_tcp.<locals>.try_connect'
# was never awaited" printed on the terminal after a quick quit (seen on the H100 box).
warnings.filterwarnings(
    "ignore", r"coroutine 'connect_tcp\.<locals>\.try_connect' was never awaited", RuntimeWarning
)

# A source of candidate targets (the supervisor will provide running engines later).
TargetSource = Callable[[], Iterable[ChatTarget]]


def profile_targets() -> list[ChatTarget]:
    """Candidates: the engines the supervisor runs now, where they really listen (a launch
    with ``--set port=…`` is not where the profile file says), then one per valid profile
    not running."""
    from llmops_tui.profiles import list_profiles

    profiles = [e.profile for e in list_profiles() if e.profile is not None]
    key_env = {p.name: p.api_key_env for p in profiles}
    running: list[ChatTarget] = []
    try:
        from llmops_tui.supervisor.core import Supervisor

        for rec in Supervisor().records():
            if rec.phase in ("ready", "sleeping"):  # asleep: a send says so, by name
                running.append(
                    ChatTarget(rec.name, rec.base_url, rec.served_model_name, key_env.get(rec.name))
                )
    except OSError:
        pass
    names = {t.name for t in running}
    return running + [profile_target(p) for p in profiles if p.name not in names]


async def probe(target: ChatTarget, timeout: float = 1.5, client=None) -> ChatTarget | None:
    """The target if its server answers ``GET /v1/models``; the model is corrected to one
    it serves when the configured one is not listed. ``client``: an ``httpx.AsyncClient``
    to share (each new one builds its own TLS context, ~30 ms of CPU)."""
    import os

    import httpx  # here, not at module level: keeps ~40 ms out of the app's cold start

    if client is None:
        async with httpx.AsyncClient(timeout=timeout) as own:
            return await probe(target, timeout, own)

    headers = {}
    if target.api_key_env and os.environ.get(target.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[target.api_key_env]}"
    url = target.base_url.rstrip("/")
    url = url if url.endswith("/v1") else url + "/v1"
    try:
        resp = await client.get(url + "/models", headers=headers, timeout=timeout)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    try:
        ids = [m["id"] for m in resp.json().get("data", [])]
    except (ValueError, KeyError, TypeError, AttributeError):
        ids = []
    if ids and target.model not in ids:
        return ChatTarget(target.name, target.base_url, ids[0], target.api_key_env)
    return target


async def live_targets(candidates: Iterable[ChatTarget], timeout: float = 1.5) -> list[ChatTarget]:
    """The candidates that answer, probed concurrently (one shared client), in order."""
    import httpx

    async with httpx.AsyncClient(timeout=timeout) as client:
        found = await asyncio.gather(*(probe(t, timeout, client) for t in candidates))
    return [t for t in found if t is not None]


def profile_target(profile) -> ChatTarget:
    """Where a client reaches the engine a profile launches, and the model name it serves."""
    from llmops_tui.engines.base import LaunchSpec

    base = LaunchSpec(profile=profile, argv=(), host=profile.host, port=profile.port).base_url
    return ChatTarget(profile.name, base, profile.model_name, api_key_env=profile.api_key_env)
