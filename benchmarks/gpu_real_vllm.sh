#!/usr/bin/env bash
# The real-vLLM run on the GPU machine (issue 16), from the repository root, after
# /work/shared/gpu/install.sh (vLLM in /tmp/site, the app's dependencies in /tmp/app, model /tmp/m):
#   PHASES="spine bakeoff" BUDGET_S=540 bash benchmarks/gpu_real_vllm.sh
#   PHASES="sleep wrapper" BUDGET_S=540 bash benchmarks/gpu_real_vllm.sh
# Writes report.md, summary.json, engine logs, Monitor SVGs, bench and bake-off files to $OUT.
# Settings (environment): see the docstring of benchmarks/gpu_real_vllm.py.
cd "$(dirname "$0")/.." || exit 2
PY=${APP_PY:-python3}
exec "$PY" -u benchmarks/gpu_real_vllm.py "$@"
