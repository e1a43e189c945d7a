"""Ports (is it taken, by whom) and the readiness probe of a running engine."""

from __future__ import annotations

import os
import socket

import psutil

from llmops_tui.supervisor.records import EngineRecord


def port_in_use(host: str, port: int) -> bool:
    """Whether binding host:port would fail (the check an engine's server makes)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def port_owner(port: int) -> str | None:
    """'pid 123 (python3 -m http.server)' for the process listening on port, if visible."""
    try:
        conns = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError, OSError):
        return None
    for c in conns:
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            try:
                cmd = " ".join(psutil.Process(c.pid).cmdline())[:120]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                cmd = "?"
            return f"pid {c.pid} ({cmd})"
    return None


def probe_ready(rec: EngineRecord, timeout: float = 2.0) -> tuple[bool, str]:
    """Readiness: /health 200 and the model listed (/v1/models) or /info answering (TGI)."""
    import httpx

    headers = {}
    if rec.api_key_env and os.environ.get(rec.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[rec.api_key_env]}"
    try:
        with httpx.Client(timeout=timeout, trust_env=False, headers=headers) as client:
            r = client.get(rec.base_url + rec.health_path)
            if r.status_code != 200:
                return False, f"{rec.health_path} answered {r.status_code}"
            if rec.readiness == "tgi":
                r = client.get(rec.base_url + (rec.info_path or "/info"))
                if r.status_code != 200:
                    return False, f"/info answered {r.status_code}"
                info = r.json()
                return ("model_id" in info), f"/info model_id={info.get('model_id')!r}"
            r = client.get(rec.base_url + (rec.models_path or "/v1/models"))
            if r.status_code != 200:
                return False, f"{rec.models_path} answered {r.status_code}"
            ids = [m.get("id") for m in r.json().get("data", [])]
            if rec.served_model_name in ids:
                return True, "model listed"
            return False, f"/v1/models lists {ids}, not {rec.served_model_name!r}"
    except (httpx.HTTPError, ValueError) as exc:
        return False, f"{type(exc).__name__}: {exc}"
