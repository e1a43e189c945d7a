"""What the monitor watches: one record per running engine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

KNOWN_ENGINES = ("vllm", "sglang", "tgi")


@dataclass(frozen=True)
class EngineTarget:
    """An engine to scrape and whose processes own GPU memory.

    ``engine`` is ``vllm``, ``sglang``, ``tgi`` or ``auto`` (detected from the
    metric names on the first scrape). ``pids`` is the engine's process tree
    (API server, EngineCore, workers) as the supervisor knows it; GPU processes
    are mapped to the engine through it (and through their parents).
    """

    name: str
    engine: str
    metrics_url: str
    pids: frozenset[int] = field(default_factory=frozenset)
    asleep: bool = False  # the supervisor's record says sleeping (sleep mode)

    def __post_init__(self) -> None:
        if not isinstance(self.pids, frozenset):
            object.__setattr__(self, "pids", frozenset(self.pids))

    @property
    def base_url(self) -> str:
        """``scheme://host:port`` of the metrics URL (for e.g. TGI's ``/info``)."""
        parts = urlsplit(self.metrics_url)
        return f"{parts.scheme}://{parts.netloc}"


def pid_owners(targets: Iterable[EngineTarget]) -> dict[int, str]:
    """``{pid: engine name}`` for every pid the targets name."""
    owners: dict[int, str] = {}
    for target in targets:
        for pid in target.pids:
            owners[pid] = target.name
    return owners


def parse_url_option(value: str) -> EngineTarget:
    """``NAME=URL`` (or ``NAME=ENGINE@URL``) from ``--url`` → an EngineTarget.

    The URL may be the server's base (``http://127.0.0.1:8000``) or its
    metrics URL; ``/metrics`` is added when no path is given.
    Raises ValueError with a message fit for the user.
    """
    name, sep, rest = value.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise ValueError(f"--url {value!r}: expected NAME=URL, e.g. llama=http://127.0.0.1:8000")
    engine = "auto"
    head, at, tail = rest.partition("@")
    if at and head in (*KNOWN_ENGINES, "auto") and "://" in tail:
        engine, rest = head, tail
    parts = urlsplit(rest.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"--url {value!r}: {rest!r} is not an http(s) URL (e.g. http://127.0.0.1:8000)"
        )
    path = parts.path if parts.path not in ("", "/") else "/metrics"
    url = f"{parts.scheme}://{parts.netloc}{path}"
    return EngineTarget(name=name.strip(), engine=engine, metrics_url=url)


def running_engine_targets() -> list[EngineTarget]:
    """The supervisor's live engines (re-attached and verified) as monitor targets.

    Called once per monitor tick from a worker thread; a broken state dir yields []
    rather than an exception in the sampler.
    """
    from llmops_tui.supervisor.core import Supervisor

    try:
        sup = Supervisor()
        out = []
        for rec in sup.records():
            if not rec.alive_phase:
                continue
            out.append(
                EngineTarget(
                    rec.name,
                    rec.engine,
                    rec.metrics_url,
                    sup.process_pids(rec.name),
                    asleep=rec.phase == "sleeping",
                )
            )
        return out
    except OSError:
        return []
