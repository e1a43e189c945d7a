"""GPU-box check of issue 14's identity and stop claims with a real vLLM (run on the H200 from
the repository root, with the app and vLLM set up as ../shared/gpu/README.md says):

    PYTHONPATH=$PWD:/tmp/app python3 benchmarks/gpu_wrapper_check.py      # after install.sh

(defaults: --model /tmp/m, --engine-python /opt/torch/.venv/bin/python3, --site /tmp/site,
--port 8100; engines at gpu_memory_fraction 0.3 with --enforce-eager, as gpu_real_vllm.py's
wrapper phase, which this extends with the console-script and kill -9 cases)

Cases (``--cases``, default wrapper,console,orphan; one engine start each, ~90 s each):
  wrapper  python = a 2-line `exec <engine python> "$@"` shell wrapper
  console  executable = a `vllm` console script as pip writes it (`#!<engine python>`,
           vllm.entrypoints.cli.main under an `if __name__ == "__main__":` guard)
  guardless  the console script without its `if __name__` guard: up must fail naming it
  orphan   the wrapper again, then kill -9 of the API server while ready: ps must show the
           EngineCore/Worker left (pids, GPU MiB), down must end them
  midload  `up --wait` in the background (CUDA graphs on: a longer load), `down` from another
           llmops once the engine holds GPU memory: down ends it and frees the GPU, `up` says
           it was stopped before it was ready, ps keeps "stopped" (not "failed")
Each: `up --wait`; `ps` (ready, pids); nvidia-smi's compute processes all among ps's pids and
`gpus` attributing them to the engine; `top --once` finds it; `logs`; `down` (exit 0, "port N
free, GPU memory released"); then every pid gone, nvidia-smi lists none of them, GPU memory
back within 1 GiB of before, the port refuses connections. Every llmops call is a new process.
Prints JSON lines with what it saw; exit 1 if a check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FAILED: list[str] = []


def say(**kw) -> None:
    print(json.dumps(kw), flush=True)


def check(ok: bool, what: str, **kw) -> bool:
    say(check=what, ok=bool(ok), **kw)
    if not ok:
        FAILED.append(what)
    return ok


def llmops(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "llmops_tui", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def smi_apps() -> dict[int, int]:
    """pid → MiB from nvidia-smi (independent of the app's NVML code)."""
    out = subprocess.run(
        ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
    ).stdout
    apps = {}
    for line in out.splitlines():
        pid, mib = (x.strip() for x in line.split(","))
        apps[int(pid)] = int(mib)
    return apps


def smi_used_mib() -> int:
    out = subprocess.run(
        ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
        capture_output=True,
        text=True,
    ).stdout
    return sum(int(x) for x in out.split())


def port_answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def profile_toml(name: str, args, launcher: str, tmp: Path, eager: bool = True) -> Path:
    path = tmp / f"{name}.toml"
    path.write_text(
        f'name = "{name}"\nengine = "vllm"\nmodel = "{args.model}"\ndtype = "bfloat16"\n'
        f"port = {args.port}\nmax_model_len = 8192\ngpu_memory_fraction = 0.3\n"
        + ('extra_args = ["--enforce-eager"]\n' if eager else "")
        + f"{launcher}\n\n[env]\n"
        f'PYTHONPATH = "{args.site}"\nVLLM_USE_FLASHINFER_SAMPLER = "0"\n'
        'VLLM_ATTENTION_BACKEND = "FLASH_ATTN"\nVLLM_CACHE_ROOT = "/tmp/vllm-cache"\n'
        'HF_HUB_OFFLINE = "1"\n'
    )
    return path


def run_case(case: str, args, tmp: Path) -> None:
    name = f"gpu-{case}"
    if case in ("console", "guardless"):
        script = tmp / case / "vllm"
        script.parent.mkdir(exist_ok=True)
        # pip's shape: the guard matters, vLLM spawns its engine core on GPUs and the child
        # re-runs a guardless script (run 4 on 2026-12-02 failed that way: `guardless`).
        body = "sys.exit(main())\n"
        if case == "console":
            body = f'if __name__ == "__main__":\n    {body}'
        script.write_text(
            f"#!{args.engine_python}\nimport sys\n"
            f"from vllm.entrypoints.cli.main import main\n{body}"
        )
        launcher = f'executable = "{script}"'
    else:
        script = tmp / "vpy"
        script.write_text(f'#!/bin/sh\nexec {args.engine_python} "$@"\n')
        launcher = f'python = "{script}"'
    script.chmod(0o755)
    path = profile_toml(name, args, launcher, tmp, eager=case != "midload")
    before = smi_used_mib()
    say(case=case, step="before", gpu_used_mib=before, apps=smi_apps())
    if case == "midload":
        down_while_loading(name, path, args, before)
        return

    t0 = time.monotonic()
    r = llmops("up", str(path), "--wait", "--timeout", "900", timeout=960)
    if case == "guardless":
        said = r.stdout + r.stderr
        check(
            r.returncode != 0 and "bootstrapping phase" in said and "__main__" in said,
            "guardless: up fails and names the missing __main__ guard",
            secs=round(time.monotonic() - t0, 1),
            out=said[-1500:],
        )
        r = llmops("down", name, timeout=300)
        time.sleep(1)
        after = smi_used_mib()
        check(r.returncode == 0, "guardless: down", out=r.stdout, err=r.stderr)
        check(after <= before + 1024, "guardless: GPU memory back", before=before, after=after)
        return
    if not check(
        r.returncode == 0,
        f"{case}: up --wait",
        secs=round(time.monotonic() - t0, 1),
        out=r.stdout[-300:],
        err=r.stderr[-1500:],
    ):
        llmops("down", name)
        return
    r = llmops("ps", "--json")
    [row] = [x for x in json.loads(r.stdout) if x["name"] == name]
    pids = row["pids"]
    print(llmops("ps").stdout, flush=True)
    check(
        row["phase"] == "ready" and row["pid"] in pids and len(pids) >= 2,
        f"{case}: ps says ready with the engine's pids",
        phase=row["phase"],
        pids=pids,
    )
    apps = smi_apps()
    check(
        bool(apps) and set(apps) <= set(pids),
        f"{case}: every GPU process is the engine's",
        smi_apps=apps,
        ps_pids=pids,
    )
    gpus = json.loads(llmops("gpus", "--json").stdout)
    rows = [p for g in gpus["gpus"] for p in g["processes"]]
    check(
        rows and all(p["engine"] == name for p in rows), f"{case}: gpus names the engine", rows=rows
    )
    top = json.loads(llmops("top", "--once", "--json").stdout)
    eng = [e for e in top["engines"] if e["name"] == name]
    check(bool(eng) and not eng[0].get("error"), f"{case}: top --once finds it", engines=eng)
    r = llmops("logs", name, "-n", "3")
    check(r.returncode == 0 and r.stdout.strip() != "", f"{case}: logs", tail=r.stdout[-300:])

    if case == "orphan":
        os.kill(row["pid"], signal.SIGKILL)
        time.sleep(2)
        left = [p for p in pids if p != row["pid"] and alive(p)]
        r = llmops("ps")
        print(r.stdout, flush=True)
        say(case=case, step="killed the API server", pid=row["pid"], left=left, apps=smi_apps())
        if left:
            check(
                "still running after its main process" in r.stdout
                and "MiB GPU" in r.stdout
                and all(str(p) in r.stdout for p in left)
                and "`llmops down" in r.stdout,
                "orphan: ps shows what outlived the API server, with GPU MiB",
                left=left,
            )

    t0 = time.monotonic()
    r = llmops("down", name, timeout=300)
    took = round(time.monotonic() - t0, 1)
    check(
        r.returncode == 0 and f"port {args.port} free, GPU memory released" in r.stdout,
        f"{case}: down says port free and GPU memory released",
        secs=took,
        out=r.stdout,
        err=r.stderr,
    )
    time.sleep(1)
    after_apps = smi_apps()
    after = smi_used_mib()
    check(
        not [p for p in pids if alive(p)],
        f"{case}: every engine process gone",
        left=[p for p in pids if alive(p)],
    )
    check(
        not set(after_apps) & set(pids), f"{case}: nvidia-smi lists none of them", apps=after_apps
    )
    check(after <= before + 1024, f"{case}: GPU memory back", before_mib=before, after_mib=after)
    check(not port_answers(args.port), f"{case}: port {args.port} refuses connections")


def down_while_loading(name: str, path: Path, args, before: int) -> None:
    up = subprocess.Popen(
        [sys.executable, "-m", "llmops_tui", "up", str(path), "--wait", "--timeout", "900"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    t0, row, apps = time.monotonic(), {}, {}
    while time.monotonic() - t0 < 300 and up.poll() is None:
        rows = [x for x in json.loads(llmops("ps", "--json").stdout or "[]") if x["name"] == name]
        row, apps = (rows[0] if rows else {}), smi_apps()
        if row.get("phase") in ("starting", "loading") and set(apps) & set(row.get("pids", [])):
            break
        time.sleep(0.5)
    pids = row.get("pids", [])
    held = sum(mib for pid, mib in apps.items() if pid in pids)
    if not check(
        up.poll() is None and row.get("phase") in ("starting", "loading") and held > 0,
        "midload: caught the engine loading with GPU memory",
        secs=round(time.monotonic() - t0, 1),
        phase=row.get("phase"),
        progress=row.get("progress"),
        gpu_mib=held,
    ):
        up.kill()
        llmops("down", name, timeout=300)
        return
    t1 = time.monotonic()
    r = llmops("down", name, timeout=300)
    _out, err = up.communicate(timeout=120)
    check(
        r.returncode == 0 and f"port {args.port} free, GPU memory released" in r.stdout,
        "midload: down says port free and GPU memory released",
        secs=round(time.monotonic() - t1, 1),
        out=r.stdout,
        err=r.stderr,
    )
    check(
        up.returncode == 1 and "was stopp" in err and "before it was ready" in err,
        "midload: up --wait says its engine was stopped before it was ready",
        rc=up.returncode,
        err=err[-600:],
    )
    [after_row] = [x for x in json.loads(llmops("ps", "--json").stdout) if x["name"] == name]
    check(
        after_row["phase"] == "stopped" and after_row["pids"] == [],
        "midload: ps says stopped, not failed",
        phase=after_row["phase"],
        root_cause=after_row.get("root_cause"),
    )
    time.sleep(1)
    after = smi_used_mib()
    check(not [p for p in pids if alive(p)], "midload: every engine process gone")
    check(not set(smi_apps()) & set(pids), "midload: nvidia-smi lists none of them")
    check(after <= before + 1024, "midload: GPU memory back", before_mib=before, after_mib=after)
    check(not port_answers(args.port), f"midload: port {args.port} refuses connections")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="/tmp/m")
    ap.add_argument("--engine-python", default="/opt/torch/.venv/bin/python3")
    ap.add_argument("--site", default="/tmp/site", help="PYTHONPATH holding vLLM")
    ap.add_argument("--port", type=int, default=8100)
    ap.add_argument("--cases", default="wrapper,console,orphan")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            run_case(case, args, Path(tmp))
    say(done=True, failed=FAILED)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
