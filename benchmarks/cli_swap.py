"""`llmops swap A B` as a user runs it: the whole command against two sleep-mode stand-ins.

    python benchmarks/cli_swap.py [--rounds 6] [--importtime]

Two stand-in vLLM engines (tests/fixtures/fake_engine: the development routes /sleep,
/wake_up, /is_sleeping answer at once) are started with `llmops up --wait` in a temporary
config/state dir; then `python -m llmops_tui swap a b` / `swap b a` run alternately as fresh
processes. Per round: the wall time of the process (spawn to exit), the command's own "in X s"
and its "engine calls" figure; what is left (wall − in) is interpreter start, imports, the
NVML read for "holds N MiB" and exit. The stand-ins' calls cost ~nothing, so on this box the
figure is the CLI's own overhead; on the H200 the engine calls add 0.18–1.1 s.

``--importtime``: one more swap under ``python -X importtime`` and the 12 slowest imports
(cumulative µs) of that command.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAKE = ROOT / "tests" / "fixtures" / "fake_engine"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--importtime", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="llmops-cli-swap-"))
    env = {
        **os.environ,
        "LLMOPS_CONFIG_DIR": str(work / "config"),
        "LLMOPS_PROFILES": str(work / "config" / "profiles"),
        "LLMOPS_STATE_DIR": str(work / "state"),
        "LLMOPS_DATA_DIR": str(work / "data"),
        "LLMOPS_CACHE_DIR": str(work / "cache"),
    }
    (work / "model").mkdir()
    profiles = work / "config" / "profiles"
    profiles.mkdir(parents=True)
    for name in ("a", "b"):
        (profiles / f"{name}.toml").write_text(
            f'name = "{name}"\nengine = "vllm"\nmodel = "{work / "model"}"\n'
            f'served_model_name = "{name}-model"\nport = {free_port()}\n'
            f'python = "{sys.executable}"\nsleep_mode = true\n\n[env]\nPYTHONPATH = "{FAKE}"\n'
        )

    def llmops(*argv: str, pre: tuple[str, ...] = ()) -> tuple[float, subprocess.CompletedProcess]:
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, *pre, "-m", "llmops_tui", *argv],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return time.perf_counter() - t, r

    try:
        for name in ("a", "b"):
            _, r = llmops("up", name, "--wait", "--timeout", "60")
            if r.returncode:
                print(f"up {name} failed:\n{r.stdout}{r.stderr}", file=sys.stderr)
                return 1
        walls, ins, calls = [], [], []
        pairs = [("a", "b"), ("b", "a")]
        for i in range(args.rounds):
            src, dst = pairs[i % 2]
            wall, r = llmops("swap", src, dst)
            m = re.search(r"in ([\d.]+) s \(engine calls ([\d.]+) s\)", r.stdout)
            if r.returncode or not m:
                print(f"swap {src} {dst}: rc {r.returncode}\n{r.stdout}{r.stderr}", file=sys.stderr)
                return 1
            walls.append(wall)
            ins.append(float(m.group(1)))
            calls.append(float(m.group(2)))
            print(
                f"swap {src} → {dst}: wall {wall:.3f} s, command 'in' {ins[-1]:.2f} s, "
                f"engine calls {calls[-1]:.3f} s, outside {wall - ins[-1]:.3f} s"
            )
        outside = [w - i for w, i in zip(walls, ins)]
        print(
            f"median of {len(walls)}: wall {statistics.median(walls):.3f} s "
            f"(min {min(walls):.3f}), outside the swap {statistics.median(outside):.3f} s "
            f"(min {min(outside):.3f}), "
            f"engine calls {statistics.median(calls):.3f} s "
            f"(load {os.getloadavg()[0]:.2f})"
        )
        if args.importtime:
            src, dst = pairs[args.rounds % 2]
            _, r = llmops("swap", src, dst, pre=("-X", "importtime"))
            rows = []
            for line in r.stderr.splitlines():
                m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
                if m:
                    rows.append((int(m.group(2)), len(m.group(3)), m.group(4)))
            top = [row for row in rows if row[1] <= 2]  # top-level imports and their children
            print("slowest imports of the swap command (cumulative µs):")
            for us, _, mod in sorted(top, reverse=True)[:12]:
                print(f"  {us:>8,}  {mod}")
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        print(f"bare interpreter start and exit: {time.perf_counter() - t:.3f} s")
        return 0
    finally:
        llmops("down", "--all")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
