"""Helpers of benchmarks/gpu_real_vllm.py: settings, commands run and reported, NVML via nvidia-smi."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
E = os.environ.get
SITE, APP, MODEL = E("SITE", "/tmp/site"), E("APP", "/tmp/app"), E("MODEL", "/tmp/m")
ENGINE_PY = E("ENGINE_PY") or next(
    (p for p in ("/opt/torch/.venv/bin/python3",) if os.path.exists(p)), shutil.which("python3")
)
APP_PY = E("APP_PY", sys.executable)
PHASES = E("PHASES", "spine").split()
BUDGET_S = float(E("BUDGET_S", "540"))
RESERVE_S = 30.0  # kept for the final down --all and the leftover check
OUT = Path(E("OUT")) if E("OUT") else None
SPINE_FRACTION = E("SPINE_FRACTION", "0.5")
SLEEP_FRACTION = E("SLEEP_FRACTION", "0.4")
SLEEP_ROUNDS = int(E("SLEEP_ROUNDS", "3"))
SLEEP_B_QUANT = E("SLEEP_B_QUANT") or None  # e.g. fp8: the second sleeper quantized
BAKEOFF_SUITE = E("BAKEOFF_SUITE", "standard")
BAKEOFF_PROFILES = E("BAKEOFF_PROFILES", "gpu-bf16 gpu-fp8").split()
BENCH = E("BENCH", "--num-requests 600 --concurrency 64 --input-len 512 --output-len 256").split()
T0 = time.monotonic()
WORK = Path(tempfile.mkdtemp(prefix="llmops-gpu-run-", dir="/tmp"))
ENV = {
    **os.environ,
    "LLMOPS_CONFIG_DIR": str(WORK / "config"),
    "LLMOPS_PROFILES": str(WORK / "config" / "profiles"),
    "LLMOPS_STATE_DIR": str(WORK / "state"),
    "LLMOPS_DATA_DIR": str(WORK / "data"),
    "LLMOPS_CACHE_DIR": str(WORK / "cache"),
    "PYTHONPATH": APP if E("APP_FROM") == "wheel" else f"{ROOT}:{APP}",
    "NO_COLOR": "1",
}
REPORT: list[str] = []
SUMMARY: dict = {"phases": {}, "steps": []}


smi_cache: dict = {}


class Skip(Exception):
    pass


def say(line: str = "") -> None:
    """Print and keep a line; with $OUT also append it to report.md at once (a run killed at
    the command's time limit still brings back what it did)."""
    REPORT.append(line)
    print(line, flush=True)
    if OUT:
        with open(OUT / "report.md", "a", encoding="utf-8") as f:
            f.write(line + "\n")


def check(name: str, ok: bool, detail: str = "") -> bool:
    """One verdict of the run, in the report and in summary.json's checks."""
    SUMMARY.setdefault("checks", {})[name] = {"ok": ok, "detail": detail}
    say(f"CHECK {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}")
    return ok


def ps_json() -> list[dict]:
    try:
        res = subprocess.run(
            [APP_PY, "-m", "llmops_tui", "ps", "--json"],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=30,
        )
        return json.loads(res.stdout)
    except (subprocess.SubprocessError, ValueError):
        return []


def phase_of(name: str) -> str | None:
    return next((r.get("phase") for r in ps_json() if r.get("name") == name), None)


def left() -> float:
    return BUDGET_S - (time.monotonic() - T0)


def sh(label: str, argv: list[str], timeout: float = 120, show: int = 40, **kw) -> dict:
    """Run one command (own session, killed on timeout); report rc, wall time and its output."""
    budget = left() - RESERVE_S
    if budget < 5:
        raise Skip(f"no time left for {label}")
    timeout = min(timeout, budget)
    t = time.monotonic()
    try:
        p = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=kw.get("env", ENV),
            cwd=ROOT,
            start_new_session=True,
        )
    except OSError as exc:
        say(f"\n### {label}: cannot run {argv[0]}: {exc}")
        SUMMARY["steps"].append({"label": label, "rc": "not run", "wall_s": 0})
        return {"label": label, "rc": "not run", "wall_s": 0, "out": "", "err": str(exc)}
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGINT if kw.get("sigint") else signal.SIGKILL)
        try:
            out, err = p.communicate(timeout=60 if kw.get("sigint") else 5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
        rc = "timeout"
    wall = time.monotonic() - t
    res = {"label": label, "rc": rc, "wall_s": round(wall, 2), "out": out, "err": err}
    SUMMARY["steps"].append({k: res[k] for k in ("label", "rc", "wall_s")})
    say(f"\n### {label}  (rc {rc}, {wall:.2f} s, t={time.monotonic() - T0:.0f} s)")
    say("```")
    text = (out + ("\n" if out and err else "") + err).rstrip().splitlines()
    for line in text[:show] + (
        [f"... ({len(text) - show} more lines)"] if len(text) > show else []
    ):
        say(line)
    say("```")
    if OUT:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60]
        (OUT / "steps").mkdir(exist_ok=True)
        (OUT / "steps" / f"{len(SUMMARY['steps']):02d}-{safe}.txt").write_text(
            f"$ {' '.join(argv)}\nrc={rc} wall={wall:.2f}\n--- stdout\n{out}\n--- stderr\n{err}"
        )
    return res


def llmops(label: str, *args: str, timeout: float = 120, **kw) -> dict:
    return sh(label, [APP_PY, "-m", "llmops_tui", *args], timeout, **kw)


def smi() -> dict:
    """NVML through nvidia-smi: per-process MiB and the GPU's used/total MiB."""
    q = [
        "nvidia-smi",
        "--query-compute-apps=pid,process_name,used_memory",
        "--format=csv,noheader,nounits",
    ]
    procs = {}
    try:
        for line in subprocess.run(
            q, capture_output=True, text=True, timeout=20
        ).stdout.splitlines():
            parts = [x.strip() for x in line.split(",")]
            if len(parts) == 3 and parts[0].isdigit():
                procs[int(parts[0])] = (parts[1], int(parts[2]) if parts[2].isdigit() else parts[2])
        g = (
            subprocess.run(
                [
                    "nvidia-smi",
                    "--query-gpu=memory.used,memory.total",
                    "--format=csv,noheader,nounits",
                ],
                capture_output=True,
                text=True,
                timeout=20,
            )
            .stdout.split("\n")[0]
            .split(",")
        )
        used, total = int(g[0]), int(g[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        return {"error": str(exc), "procs": {}, "used": None, "total": None}
    return {"procs": procs, "used": used, "total": total}


def smi_line(tag: str) -> dict:
    s = smi()
    rows = ", ".join(f"pid {p} {n.rsplit('/', 1)[-1]} {m} MiB" for p, (n, m) in s["procs"].items())
    say(f"NVML [{tag}]: GPU used {s['used']} / {s['total']} MiB; processes: {rows or 'none'}")
    return s


def wait_released(tag: str, pids: set[int], limit: float = 30.0) -> None:
    """After a stop: how long until none of ``pids`` holds GPU memory (nvidia-smi's view)."""
    t = time.monotonic()
    while True:
        s = smi()
        held = {p: v for p, v in s["procs"].items() if p in pids}
        if not held or time.monotonic() - t > limit:
            break
        time.sleep(0.25)
    took = time.monotonic() - t
    check(f"GPU memory back after {tag}", not held, f"{took:.1f} s; GPU used {s['used']} MiB")
    verdict = "memory back" if not held else f"STILL HELD by {held}"
    say(
        f"NVML after {tag}: {verdict} ({took:.1f} s after the command returned); "
        f"GPU used {s['used']} MiB; other processes: {list(s['procs']) or 'none'}"
    )
    SUMMARY.setdefault("released", []).append(
        {"tag": tag, "ok": not held, "after_s": round(took, 2), "gpu_used_mib": s["used"]}
    )


def engine_pids(name: str) -> set[int]:
    return {p for r in ps_json() if r.get("name") == name for p in r.get("pids", [])}


def profile(
    name: str,
    port: int,
    *,
    quant: str | None = None,
    fraction: str = SPINE_FRACTION,
    python: str | None = None,
    extra: list[str] | None = None,
    env: dict | None = None,
    fields: dict | None = None,
) -> Path:
    lines = [
        f'name = "{name}"',
        'engine = "vllm"',
        f'model = "{MODEL}"',
        'dtype = "bfloat16"',
        f"gpu_memory_fraction = {fraction}",
        "max_model_len = 8192",
        f"port = {port}",
        f'python = "{python or ENGINE_PY}"',
    ]
    if quant:
        lines.append(f'quantization = "{quant}"')
    # vLLM 0.26 picks the attention backend from `--attention-backend` (AttentionConfig.backend);
    # VLLM_ATTENTION_BACKEND is gone there (envs.validate_environ logs "Unknown vLLM environment
    # variable detected" and ignores it). FLASH_ATTN is Hopper's first choice anyway; naming it
    # keeps vLLM from falling to FLASHINFER, which this machine does not have.
    extra = ["--attention-backend", "FLASH_ATTN", *(extra or [])]
    lines.append("extra_args = [" + ", ".join(json.dumps(a) for a in extra) + "]")
    for k, v in (fields or {}).items():
        lines.append(f"{k} = {json.dumps(v) if isinstance(v, str) else str(v).lower()}")
    lines.append("\n[env]")
    envs = {
        "PYTHONPATH": SITE,
        "VLLM_USE_FLASHINFER_SAMPLER": "0",
        "VLLM_CACHE_ROOT": "/tmp/vllm-cache",  # kept while the machine stays warm
        "HF_HUB_OFFLINE": "1",  # the GPU machine reaches no network
        **(env or {}),
    }
    lines += [f"{k} = {json.dumps(v)}" for k, v in envs.items()]
    path = WORK / "config" / "profiles" / f"{name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def up(name: str, timeout: float = 300) -> bool:
    r = llmops(
        f"up {name} --wait",
        "up",
        name,
        "--wait",
        "--timeout",
        str(timeout),
        timeout=timeout + 20,
        show=60,
    )
    m = re.search(r"ready on \S+ in ([\d.]+) s", r["out"])
    SUMMARY.setdefault("up", {})[name] = float(m.group(1)) if m else None
    return r["rc"] == 0


def down(name: str) -> None:
    pids = engine_pids(name)
    llmops(f"down {name}", "down", name, timeout=90)
    wait_released(f"down {name}", pids)


def bench_with_monitor(name: str, tag: str) -> None:
    """`llmops bench` against ``name``, a `top` sample and a Monitor capture while it runs."""
    jpath = (OUT or WORK) / f"bench-{tag}.json"
    argv = [
        APP_PY,
        "-m",
        "llmops_tui",
        "bench",
        "--profile",
        name,
        *BENCH,
        "--ignore-eos",
        "--json",
        str(jpath),
        "--label",
        f"h200-{tag}",
    ]
    t = time.monotonic()
    bp = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        cwd=ROOT,
        start_new_session=True,
    )
    time.sleep(2)  # the load ramps up; 600 requests take ~10 s on the H200
    top = subprocess.Popen(
        [APP_PY, "-m", "llmops_tui", "top", "--once", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    raw_metrics(name, tag, "1")
    svg = (OUT or WORK) / f"monitor-{tag}.svg"
    sh(
        f"Monitor tab capture (during bench {tag})",
        [APP_PY, "benchmarks/monitor_capture.py", "--ticks", "4", "--svg", str(svg)],
        timeout=60,
        show=80,
    )
    smi_line(f"during bench {tag}")
    raw_metrics(name, tag, "2")
    try:
        top_out, _ = top.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        top.kill()
        top_out, _ = top.communicate()
    say(f"\n### top --once --json (during bench {tag}, started with the capture)")
    say("```\n" + top_out.strip()[:4000] + "\n```")
    try:
        out, _ = bp.communicate(timeout=max(10, min(240, left() - RESERVE_S)))
        rc = bp.returncode
    except subprocess.TimeoutExpired:
        os.killpg(bp.pid, signal.SIGINT)
        out, _ = bp.communicate(timeout=30)
        rc = "timeout"
    say(f"\n### bench {tag} (rc {rc}, {time.monotonic() - t:.1f} s)\n```\n{out.rstrip()}\n```")
    SUMMARY.setdefault("bench", {})[tag] = {"rc": rc, "json": str(jpath)}
    try:
        brief = SUMMARY["bench"][tag]["result"] = _bench_brief(json.loads(jpath.read_text()))
    except (OSError, ValueError):
        brief = {}
    check(
        f"bench {tag}: every request completed",
        rc == 0 and bool(brief.get("completed")) and not brief.get("failed"),
        f"{brief.get('completed')} completed, {brief.get('failed')} failed, "
        f"{brief.get('output_throughput') or 0:,.0f} output tok/s",
    )


def raw_metrics(name: str, tag: str, n: str) -> None:
    """The engine's raw /metrics during the load test, kept for a fixture: the 2026-12-02 run's
    Monitor and `top` samples read `running 0` / `KV 0.0 %` mid-bench beside a 14-19 k tok/s
    rate, and no raw scrape was there to say which series vLLM exported at that moment."""
    url = next((e.get("metrics_url") for e in ps_json() if e.get("name") == name), None)
    if not url:
        return
    dest = (OUT or WORK) / f"metrics-{tag}-{n}.prom"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            dest.write_bytes(r.read())
        say(f"raw /metrics [{tag} #{n}] at {time.time():.3f}: {dest.name}")
    except OSError as e:
        say(f"raw /metrics [{tag} #{n}]: {e}")


def _bench_brief(d: dict) -> dict:
    """The headline figures of a `bench --json` file (its summary, wherever it sits)."""
    stack, summary = [d], None
    while stack and summary is None:
        x = stack.pop()
        if isinstance(x, dict):
            if "output_throughput" in x:
                summary = x
            stack += list(x.values())
    if summary is None:
        return {}
    out = {
        k: summary.get(k)
        for k in (
            "completed",
            "failed",
            "duration_s",
            "output_throughput",
            "total_token_throughput",
            "errors",
        )
    }
    for k in ("ttft_ms", "tpot_ms", "itl_ms"):
        dist = summary.get(k) or {}
        out[k] = {p: dist.get(p) for p in ("p50", "p99")}
    return out


def chat(name: str, tag: str, prompt: str = "Say hello to the GPU box.") -> dict:
    r = llmops(f"chat {tag}", "chat", "--profile", name, "--max-tokens", "32", prompt, timeout=60)
    m = re.search(r"TTFT ([\d,.]+) (ms|s)\b", r["err"])
    if m:
        ttft = float(m.group(1).replace(",", "")) * (1000 if m.group(2) == "s" else 1)
        SUMMARY.setdefault("chat_ttft_ms", {})[tag] = ttft
    return r


def http(url: str, method: str = "GET", timeout: float = 30) -> tuple[float, str]:
    t = time.perf_counter()
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read().decode(errors="replace")
    return time.perf_counter() - t, body


ENGINE_MARK = re.compile(
    r"vllm\.entrypoints|VLLM::|EngineCore|\bvllm serve\b|sglang\.launch_server|"
    r"multiprocessing\.(spawn|resource_tracker)"
)


def kill_leftovers(tag: str) -> None:
    """Kill what an engine left: processes on the GPU that are engines (or Python), and API
    servers of this run's model (they hold no GPU memory). Never this driver or its parents."""
    smi_cache.clear()
    smi_cache.update(smi())
    on_gpu = set(smi_cache["procs"])
    spare, pid = set(), os.getpid()
    while pid > 1:  # this driver and every process above it (the shell that runs it)
        spare.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    for d in sorted(Path("/proc").iterdir(), key=lambda p: p.name):
        if not d.name.isdigit() or int(d.name) in spare:
            continue
        pid = int(d.name)
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        engine = ENGINE_MARK.search(cmd) is not None
        serves_model = f"--model {MODEL} " in cmd + " " or f"--model-path {MODEL} " in cmd + " "
        if (pid in on_gpu and (engine or "python" in cmd)) or (engine and serves_model):
            say(f"[{tag}] killing leftover process {pid}: {cmd[:140]}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as exc:
                say(f"[{tag}] kill {pid}: {exc}")
