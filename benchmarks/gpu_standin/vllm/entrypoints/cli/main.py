"""A stand-in for `python -m vllm.entrypoints.cli.main serve MODEL …` (vLLM's `vllm serve`):
turns the `serve MODEL` form into the api_server stand-in's `--model MODEL` and runs it."""

from __future__ import annotations

import runpy
import sys

if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["serve"]:
        args = args[1:]
    if args and not args[0].startswith("-"):
        args = ["--model", args[0], *args[1:]]
    sys.argv = [sys.argv[0], *args]
    runpy.run_module("vllm.entrypoints.openai.api_server", run_name="__main__", alter_sys=True)
