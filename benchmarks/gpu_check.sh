#!/usr/bin/env bash
# GPU check for the Monitor (run on the GPU box from the repository root):
#   bash benchmarks/gpu_check.sh   # app: .venv/bin/python (or $PYTHON); torch: $TORCH_PYTHON (default: same)
# 1. allocates ~10 GiB on GPU 0 with torch (if torch is importable) in a background process,
# 2. prints `llmops gpus --json` (the allocation should show as a process with ~10 GiB),
# 3. prints `llmops top --once --json`,
# 4. prints a headless Pilot capture of the Monitor tab (and saves an SVG to $OUT if set),
# then frees the GPU memory. Exit status: non-zero if a step failed.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
TORCH_PY=${TORCH_PYTHON:-$PY}   # an interpreter with CUDA torch (e.g. an engine's venv)
LLMOPS=("$PY" -m llmops_tui)
GIB=${GPU_CHECK_GIB:-10}
status=0

alloc_pid=""
if "$TORCH_PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  "$TORCH_PY" - "$GIB" <<'PYEOF' &
import sys, time, torch
gib = float(sys.argv[1])
x = torch.empty(int(gib * 1024**3), dtype=torch.uint8, device="cuda:0")
x.fill_(1)
torch.cuda.synchronize()
print(f"[alloc] pid {__import__('os').getpid()} holds {gib:g} GiB on cuda:0", flush=True)
time.sleep(600)
PYEOF
  alloc_pid=$!
  for _ in $(seq 1 60); do   # wait until the allocation is visible to NVML
    sleep 1
    if "${LLMOPS[@]}" gpus --json | "$PY" -c "
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(p['pid'] == $alloc_pid for g in d['gpus'] for p in g['processes']) else 1)" 2>/dev/null; then
      break
    fi
  done
else
  echo "[alloc] torch with CUDA not importable by $TORCH_PY (set TORCH_PYTHON): no allocation (per-process rows show whatever else runs)"
fi

echo "===== llmops gpus --json ====="
"${LLMOPS[@]}" gpus --json || status=1
echo "===== llmops gpus ====="
"${LLMOPS[@]}" gpus || status=1
echo "===== llmops top --once --json ====="
"${LLMOPS[@]}" top --once --json || status=1
echo "===== Monitor tab (headless Pilot) ====="
svg_args=()
[ -n "${OUT:-}" ] && svg_args=(--svg "$OUT/monitor-tab.svg")
"$PY" benchmarks/monitor_capture.py "${svg_args[@]}" || status=1

if [ -n "$alloc_pid" ]; then
  kill "$alloc_pid" 2>/dev/null
  wait "$alloc_pid" 2>/dev/null
fi
exit $status
