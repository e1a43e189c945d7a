"""The real-vLLM run on the GPU machine, through the app (issue 16). Stdlib only.

    bash benchmarks/gpu_real_vllm.sh            # PHASES="spine" by default
    PHASES="sleep wrapper bakeoff" BUDGET_S=540 OUT=/some/dir bash benchmarks/gpu_real_vllm.sh

Needs /work/shared/gpu/install.sh to have run on the machine: vLLM in $SITE (/tmp/site), the
app's dependencies in $APP (/tmp/app), the random Llama in $MODEL (/tmp/m). The app is this
checkout's code (PYTHONPATH=<repo>:$APP; APP_FROM=wheel uses $APP's copy alone).

Phases (run in the order given, each bounded by what is left of BUDGET_S; one that fails is
reported and the next runs; at the end `llmops down --all` and any GPU process left is killed):
  spine    up --wait bf16, ps, gpus, top --once --json, chat, bench (600 req, C=64, 512/256)
           with a Monitor-tab capture and a top sample during it, swap bf16 -> fp8, bench, chat,
           down; NVML (nvidia-smi) memory after each stop
  bakeoff  bakeoff gpu-bf16 gpu-fp8 --suite $BAKEOFF_SUITE (standard) --out $OUT/bakeoff;
           SIGINT when the budget runs out (the partial report is kept)
  sleep    two sleep-mode engines (bf16, fraction 0.4 each; SLEEP_B_QUANT=fp8 quantizes the
           second), `llmops swap` both ways SLEEP_ROUNDS (3) times,
           TTFT of the first request after each wake, memory held by the sleeper, ps/gpus/top and
           a Monitor capture with one asleep, chat/bench to the sleeper, down of the sleeper
           (without the app's sleep_mode field: the same through the raw /sleep, /wake_up calls)
  wrapper  the engine started through a 2-line shell script that execs python: up, ps, ps --json,
           chat, down, NVML after
  sweep    `llmops bench sweep` on gpu-bf16 (issue 18): concurrency 8, 16, … 512 (512 in / 256
           out, 4×concurrency requests a step) until the engine saturates, SLO TTFT p99 ≤ 1 s and
           TPOT p99 ≤ 50 ms; each step's engine telemetry, GPU power and tokens per joule from
           the energy counter; $OUT/sweep/sweep.{md,json,svg}
Prints the report as it goes; with $OUT: report.md, summary.json, engine logs, SVGs, JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gpu_run import (
    APP_PY,
    BAKEOFF_PROFILES,
    BAKEOFF_SUITE,
    BUDGET_S,
    ENGINE_PY,
    ENV,
    MODEL,
    OUT,
    PHASES,
    RESERVE_S,
    SITE,
    SLEEP_B_QUANT,
    SLEEP_FRACTION,
    SLEEP_ROUNDS,
    SUMMARY,
    T0,
    WORK,
    Skip,
    bench_with_monitor,
    chat,
    check,
    down,
    engine_pids,
    http,
    kill_leftovers,
    left,
    llmops,
    phase_of,
    profile,
    ps_json,
    say,
    sh,
    smi,
    smi_line,
    up,
    wait_released,
)

# -- phases --------------------------------------------------------------------------------


def phase_spine() -> None:
    profile("gpu-bf16", 8100)
    profile("gpu-fp8", 8101, quant="fp8")
    smi_line("before")
    if not check("spine: up --wait gpu-bf16", up("gpu-bf16")):
        raise RuntimeError("gpu-bf16 did not become ready")
    llmops("ps", "ps")
    llmops("gpus", "gpus")
    llmops("top --once --json", "top", "--once", "--json", timeout=30)
    smi_line("bf16 serving")
    chat("gpu-bf16", "bf16")
    bench_with_monitor("gpu-bf16", "bf16")
    pids = engine_pids("gpu-bf16")
    r = llmops(
        "swap gpu-bf16 gpu-fp8",
        "swap",
        "gpu-bf16",
        "gpu-fp8",
        "--timeout",
        "300",
        timeout=330,
        show=60,
    )
    m = re.search(r"in ([\d.]+) s", r["out"])
    SUMMARY["swap_cold_s"] = float(m.group(1)) if m else None
    wait_released("swap (bf16 stopped)", pids)
    if not check("spine: swap gpu-bf16 → gpu-fp8 ready", r["rc"] == 0, f"{r['wall_s']} s"):
        raise RuntimeError("swap to gpu-fp8 failed")
    llmops("ps (fp8)", "ps")
    llmops("gpus (fp8)", "gpus")
    chat("gpu-fp8", "fp8")
    bench_with_monitor("gpu-fp8", "fp8")
    down("gpu-fp8")
    llmops("ps (after down)", "ps")


def phase_bakeoff() -> None:
    profile("gpu-bf16", 8100)
    profile("gpu-fp8", 8101, quant="fp8")
    out = (OUT or WORK) / "bakeoff"
    if left() - RESERVE_S < 200:
        raise Skip(f"bakeoff needs ~5 min for two engines; {left() - RESERVE_S:.0f} s left")
    r = llmops(
        f"bakeoff {' '.join(BAKEOFF_PROFILES)} --suite {BAKEOFF_SUITE}",
        "bakeoff",
        *BAKEOFF_PROFILES,
        "--suite",
        BAKEOFF_SUITE,
        "--out",
        str(out),
        "--no-color",
        "--ready-timeout",
        "300",
        timeout=left() - RESERVE_S - 45,
        show=200,
        sigint=True,
    )
    SUMMARY["bakeoff"] = {"rc": r["rc"], "out": str(out)}
    smi_line("after bakeoff")


def sleep_supported() -> bool:
    p = profile("probe-sleep", 8199, fields={"sleep_mode": True})
    r = subprocess.run(
        [APP_PY, "-m", "llmops_tui", "profiles", "check", str(p)],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=60,
    )
    p.unlink()
    return r.returncode == 0


def phase_sleep() -> None:
    native = sleep_supported()
    say(f"app sleep_mode field: {'yes' if native else 'no (raw /sleep, /wake_up calls)'}")
    kw = (
        {"fields": {"sleep_mode": True}}
        if native
        else {"extra": ["--enable-sleep-mode"], "env": {"VLLM_SERVER_DEV_MODE": "1"}}
    )
    a, b = "sleep-a", "sleep-b"
    profile(a, 8110, fraction=SLEEP_FRACTION, **kw)
    profile(b, 8111, quant=SLEEP_B_QUANT, fraction=SLEEP_FRACTION, **kw)
    smi_line("before")
    if not (up(a) and up(b)):
        raise RuntimeError("a sleep-mode engine did not become ready")
    smi_line("both awake")
    port = {a: 8110, b: 8111}
    times: list[dict] = []
    pairs = [(a, b), (b, a)] * SLEEP_ROUNDS + [(a, b)]
    for i, (x, y) in enumerate(pairs):
        if native:
            r = llmops(f"swap {x} {y} #{i}", "swap", x, y, timeout=60)
            m = re.search(r"in ([\d.]+) s \(engine calls ([\d.]+) s\)", r["out"])
            took = float(m.group(1)) if m and r["rc"] == 0 else None  # inside the command
            engine = float(m.group(2)) if m and r["rc"] == 0 else None
            wall = r["wall_s"]  # the whole `llmops swap` process, Python start included
        else:
            try:
                ts, _ = http(f"http://127.0.0.1:{port[x]}/sleep?level=1", "POST")
                tw, _ = http(f"http://127.0.0.1:{port[y]}/wake_up", "POST")
                took = wall = engine = ts + tw
                say(f"raw swap {x} -> {y} #{i}: sleep {ts:.3f} s + wake_up {tw:.3f} s")
            except OSError as exc:
                say(f"raw swap {x} -> {y} #{i}: {exc}")
                took = wall = engine = None
        c = chat(y, f"after wake {y} #{i}", "First request after a wake.")
        s = smi_line(f"after swap #{i}: {x} asleep")
        times.append(
            {
                "from": x,
                "to": y,
                "swap_s": took,
                "engine_calls_s": engine,
                "cli_wall_s": wall,
                "ttft_ms": SUMMARY.get("chat_ttft_ms", {}).get(f"after wake {y} #{i}"),
                "chat_rc": c["rc"],
                "gpu_used_mib": s["used"],
            }
        )
    SUMMARY["sleep_swaps"] = times
    timed = [t for t in times[1:] if t["cli_wall_s"] is not None]  # #0 only sleeps a
    check(
        "sleep: every swap answered",
        all(t["swap_s"] is not None for t in times),
        ", ".join(f"{t['engine_calls_s']}" for t in times),
    )
    check(
        "sleep: `llmops swap` ≤ 1 s, the whole command",
        bool(timed) and max(t["cli_wall_s"] for t in timed) <= 1.0,
        f"wall {[t['cli_wall_s'] for t in timed]} s",
    )
    check(
        "sleep: the first request after each wake answered", all(t["chat_rc"] == 0 for t in times)
    )
    if native:  # the Engines tab's swap key, headless: b → a, then the CLI puts a back to sleep
        r = sh(
            f"TUI swap key {b} → {a} (Engines tab, headless)",
            [APP_PY, "benchmarks/tui_swap_capture.py", b, a, "--svg",
             str((OUT or WORK) / "engines-tui-swap.svg")],
            timeout=90,
            show=60,
        )  # fmt: skip
        m = re.search(r"TUI swap .*: ([\d.]+) s from the pick", r["out"])
        SUMMARY["tui_swap_s"] = float(m.group(1)) if m else None
        check(
            "sleep: the Engines tab's swap key swapped", r["rc"] == 0, f"{SUMMARY['tui_swap_s']} s"
        )
        llmops(f"swap {a} {b} (after the TUI swap)", "swap", a, b, timeout=60)
    for eng in (a, b):
        try:
            say(f"{eng} /is_sleeping: {http(f'http://127.0.0.1:{port[eng]}/is_sleeping')[1]}")
        except OSError as exc:
            say(f"{eng} /is_sleeping: {exc}")
    # b is awake, a asleep (the last swap was a -> b)
    llmops("ps (one asleep)", "ps")
    llmops("ps --json (one asleep)", "ps", "--json", show=80)
    rows = {r.get("name"): r for r in ps_json()}
    held = rows.get(a, {}).get("gpu_mib")
    SUMMARY["sleeper_gpu_mib"] = held
    check(
        "sleep: ps says sleeping", rows.get(a, {}).get("phase") == "sleeping", f"holds {held} MiB"
    )
    llmops("gpus (one asleep)", "gpus")
    llmops("top --once --json (one asleep)", "top", "--once", "--json", timeout=30)
    sh(
        "Monitor tab capture (one asleep)",
        [
            APP_PY,
            "benchmarks/monitor_capture.py",
            "--ticks",
            "3",
            "--svg",
            str((OUT or WORK) / "monitor-sleeping.svg"),
        ],
        timeout=60,
        show=80,
    )
    c = chat(a, "to the sleeper (expect a clear refusal)")
    check("sleep: chat to the sleeper refused by name", c["rc"] == 1 and "is asleep" in c["err"])
    r = llmops(
        "bench to the sleeper (expect a clear refusal)",
        "bench",
        "--profile",
        a,
        "--num-requests",
        "4",
        "--concurrency",
        "2",
        "--input-len",
        "32",
        "--output-len",
        "8",
        "--no-save",
        timeout=60,
    )
    check("sleep: bench to the sleeper refused by name", r["rc"] == 1 and "is asleep" in r["err"])
    down(a)
    llmops("ps (sleeper stopped)", "ps")
    down(b)


def phase_wrapper() -> None:
    wrapper = WORK / "vpy"
    wrapper.write_text(f'#!/bin/sh\nexec {ENGINE_PY} "$@"\n')
    wrapper.chmod(0o755)
    say(f"wrapper {wrapper}: {wrapper.read_text()!r}")
    # Supervision is what is checked here: no CUDA graphs / compile, a smaller share.
    profile("gpu-wrapper", 8120, python=str(wrapper), fraction="0.3", extra=["--enforce-eager"])
    ok = up("gpu-wrapper")
    check("wrapper: up --wait ready", ok)
    llmops("ps (wrapper)", "ps")
    llmops("ps --json (wrapper)", "ps", "--json", show=80)
    llmops("gpus (wrapper)", "gpus")
    if ok:
        c = chat("gpu-wrapper", "wrapper")
        check("wrapper: chat answered", c["rc"] == 0)
        time.sleep(2)  # what `ps` says a little while after serving (the first run: failed)
        check("wrapper: ps says ready while serving", phase_of("gpu-wrapper") == "ready")
    smi_line("wrapper serving")
    pids = set(smi()["procs"])
    n_app = len(engine_pids("gpu-wrapper"))
    r = llmops("down gpu-wrapper", "down", "gpu-wrapper", timeout=90)
    m = re.search(r"\((\d+) process\(es\) ended", r["out"])
    check(
        "wrapper: down ended the engine's processes",
        r["rc"] == 0 and m is not None and int(m.group(1)) > 0,
        f"rc {r['rc']}, {m.group(1) if m else '?'} ended; ps --json listed {n_app} pid(s)",
    )
    wait_released("down gpu-wrapper (every GPU process seen before)", pids)
    try:
        http("http://127.0.0.1:8120/health", timeout=3)
        check("wrapper: port 8120 free after down", False, "it still answers /health")
    except OSError:
        check("wrapper: port 8120 free after down", True)
    llmops("ps (wrapper after down)", "ps")


def phase_sweep() -> None:
    profile("gpu-bf16", 8100)
    if left() - RESERVE_S < 240:
        raise Skip(
            f"sweep needs ~4 min (engine start and 7 steps); {left() - RESERVE_S:.0f} s left"
        )
    if phase_of("gpu-bf16") != "ready" and not check("sweep: up --wait gpu-bf16", up("gpu-bf16")):
        raise RuntimeError("gpu-bf16 did not become ready")
    out = (OUT or WORK) / "sweep"
    r = llmops(
        "bench sweep gpu-bf16",
        "bench", "sweep", "--profile", "gpu-bf16", "--input-len", "512", "--output-len", "256",
        "--ignore-eos", "--start", "8", "--max", "512", "--slo-ttft", "1000", "--slo-tpot", "50",
        "--out", str(out),
        timeout=left() - RESERVE_S - 45,
        show=80,
        sigint=True,
    )  # fmt: skip
    check("sweep: answered in one line", r["rc"] in (0, 3) and "answer: " in r["out"])
    data = json.loads((out / "sweep.json").read_text()) if (out / "sweep.json").exists() else {}
    steps = data.get("steps") or []
    tel = [s["summary"].get("telemetry") or {} for s in steps]
    if tel:
        check("sweep: engine /metrics read every step", all(t.get("metrics") == "ok" for t in tel))
        check(
            "sweep: the engine's GPU found", all(str(t.get("gpu")).startswith("GPUs") for t in tel)
        )
        check(
            "sweep: energy from the GPU's energy counter",
            all(t.get("energy_source") == "energy counter" for t in tel),
            ", ".join(f"{t.get('output_tokens_per_joule') or 0:.2f}" for t in tel) + " tok/J",
        )
    SUMMARY["sweep"] = {
        "answer": data.get("answer"),
        "saturation": data.get("saturation"),
        "signal": data.get("signal"),
        "steps": [
            {
                "concurrency": s["load"],
                "output_tok_s": s["summary"].get("output_throughput"),
                "ttft_p50_ms": (s["summary"].get("ttft_ms") or {}).get("p50"),
                "engine_ttft_p50_ms": (t.get("server_ttft_ms") or {}).get("p50"),
                "queue_peak": t.get("waiting_peak"),
                "kv_peak": t.get("kv_peak"),
                "gpu_power_mean_w": t.get("gpu_power_mean_w"),
                "tokens_per_joule": t.get("output_tokens_per_joule"),
                "joules_per_token": t.get("joules_per_output_token"),
            }
            for s, t in zip(steps, tel)
        ],
    }
    say(f"sweep answer: {data.get('answer')}")
    down("gpu-bf16")


def down_all(timeout: float) -> None:
    try:
        r = subprocess.run(
            [APP_PY, "-m", "llmops_tui", "down", "--all", "--grace", "5"],
            env=ENV,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        say(f"down --all: rc {r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
    except subprocess.TimeoutExpired:
        say(f"down --all: no answer in {timeout:.0f} s")


def save_artifacts() -> None:
    """Engine logs and summary.json into $OUT (after each phase: a run killed at the command's
    time limit keeps what was done)."""
    if not OUT:
        return
    logs = OUT / "logs"
    logs.mkdir(exist_ok=True)
    for log in (WORK / "state" / "engines").glob("*/engine.log*"):
        shutil.copy(log, logs / f"{log.parent.name}-{log.name}")
    (OUT / "summary.json").write_text(json.dumps(SUMMARY, indent=2, default=str))


def main() -> int:
    if OUT:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "report.md").write_text("")  # say() appends each line as it comes
    say(f"# llmops real-vLLM run ({time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())})")
    say(f"phases {PHASES}, budget {BUDGET_S:.0f} s, work dir {WORK}, engine python {ENGINE_PY}")
    missing = [
        what
        for what, ok in (
            (f"vLLM in {SITE} (run /work/shared/gpu/install.sh on this machine first)",
             Path(SITE, "vllm", "__init__.py").is_file() or "fake_engine" in SITE),
            (f"the model {MODEL}/config.json (install.sh makes it)",
             Path(MODEL, "config.json").is_file() or "fake_engine" in SITE),
            (f"engine interpreter {ENGINE_PY}", bool(ENGINE_PY) and Path(ENGINE_PY).exists()),
        )
        if not ok
    ]  # fmt: skip
    if missing:
        say("not starting: missing " + "; ".join(missing))
        return 2
    sh(
        "versions",
        [
            ENGINE_PY,
            "-c",
            "import sys; sys.path.insert(0, '" + SITE + "'); import vllm,"
            " torch; print('vllm', vllm.__version__, 'torch', torch.__version__, torch.version.cuda)",
        ],
        timeout=90,
    )
    sh(
        "nvidia-smi",
        ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,memory.used", "--format=csv"],
        timeout=20,
    )
    sh("app", [APP_PY, "-c", "import llmops_tui, sys; print(llmops_tui.__file__, sys.version)"])
    kill_leftovers("start")
    phases = {
        "spine": phase_spine,
        "bakeoff": phase_bakeoff,
        "sleep": phase_sleep,
        "wrapper": phase_wrapper,
        "sweep": phase_sweep,
    }
    for name in PHASES:
        t = time.monotonic()
        say(f"\n## phase {name} (t={t - T0:.0f} s, {left():.0f} s left)")
        try:
            phases[name]()
            result = "done"
        except Skip as exc:
            result = f"skipped: {exc}"
        except Exception as exc:  # a failed phase is reported, the next one runs
            result = f"FAILED: {type(exc).__name__}: {exc}"
        SUMMARY["phases"][name] = {"result": result, "s": round(time.monotonic() - t, 1)}
        say(f"\n## phase {name}: {result} ({time.monotonic() - t:.0f} s)")
        if result != "done":  # leave nothing of it running for the next phase
            down_all(min(60.0, max(10.0, left() - 15)))
        kill_leftovers(f"after {name}")  # anything still there is reported, then killed
        save_artifacts()
    say("\n## cleanup")
    down_all(RESERVE_S - 5)
    kill_leftovers("end")
    smi_line("end")
    save_artifacts()
    print(json.dumps({k: v for k, v in SUMMARY.items() if k != "steps"}, indent=1, default=str))
    return 0 if all(p["result"] == "done" for p in SUMMARY["phases"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
