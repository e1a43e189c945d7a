"""Runs INSIDE the ci-vllm env's interpreter with the pinned SGLang on PYTHONPATH (not in
pytest's process): parses each argv with SGLang's own `prepare_server_args`
(sglang/srt/server_args.py: ServerArgs.add_cli_args on an argparse parser, the --config
YAML merge of sglang/srt/utils/server_args_config_parser.py, ServerArgs.from_cli_args —
what `python -m sglang.launch_server` runs first) and reports what SGLang read.
ServerArgs.resolve_once / check_server_args need the model's config, torchvision and a
device platform: not run here.

stdin: {"cases": [{"id": str, "argv": ["--model-path", M, …], "files": {path: text}}]}
stdout (last line): @@probe@@ {"version", "lists": {…}, "results": {id: {ok, error, values}}}
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile

logging.disable(logging.WARNING)

import sglang  # noqa: E402
from sglang.srt.server_args import ServerArgs, prepare_server_args  # noqa: E402

FIELDS = (
    "model_path", "host", "port", "tp_size", "pp_size", "dp_size", "quantization", "dtype",
    "kv_cache_dtype", "mem_fraction_static", "context_length", "max_running_requests",
    "served_model_name", "revision", "trust_remote_code", "enable_metrics", "api_key",
)  # fmt: skip


def choices() -> dict:
    p = argparse.ArgumentParser()
    ServerArgs.add_cli_args(p)
    out = {}
    for action in p._actions:
        if action.dest in ("quantization", "dtype", "kv_cache_dtype"):
            out[action.dest] = sorted(action.choices)
    return out


def one(case: dict, tmp: str) -> dict:
    argv = list(case["argv"])
    for name, text in case.get("files", {}).items():  # e.g. the --config YAML
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        argv = [path if a == name else a for a in argv]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = prepare_server_args(argv)
    except SystemExit as exc:
        return {"ok": False, "error": err.getvalue().strip().splitlines()[-1:] or [str(exc)]}
    except Exception as exc:
        return {"ok": False, "error": [f"{type(exc).__name__}: {exc}"]}
    values = {f: getattr(args, f) for f in FIELDS}
    values["launch_command"] = args.launch_command  # what /server_info returns
    return {"ok": True, "values": values}


def main() -> None:
    payload = json.load(sys.stdin)
    with tempfile.TemporaryDirectory() as tmp:
        results = {case["id"]: one(case, tmp) for case in payload["cases"]}
    out = {"version": sglang.__version__, "lists": choices(), "results": results}
    print("@@probe@@" + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
