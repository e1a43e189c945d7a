"""`llmops models list|search|info|download|rm|fit`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="Hugging Face cache, Hub search, downloads, fit estimates")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = msub.add_parser("list", help="models in the local Hugging Face cache")
    _json(ls)
    ls.set_defaults(func=cmd_list)

    se = msub.add_parser("search", help="search the Hub")
    se.add_argument("text", nargs="?", help="text in the repo id")
    se.add_argument("--task", help="pipeline tag, e.g. text-generation")
    se.add_argument("--library", help="library tag, e.g. transformers, gguf")
    se.add_argument("--sort", default="downloads", help="downloads (default), likes, trending")
    se.add_argument("--limit", type=int, default=20)
    _json(se)
    se.set_defaults(func=cmd_search)

    info = msub.add_parser("info", help="details of a model (Hub, or cache when offline)")
    info.add_argument("repo_id")
    info.add_argument("--revision")
    _fit_args(info)
    _json(info)
    info.set_defaults(func=cmd_info)

    dl = msub.add_parser("download", help="download into the HF cache (resumes; Ctrl-C cancels)")
    dl.add_argument("repo_id")
    dl.add_argument("--revision", help="branch, tag or commit (default main)")
    dl.add_argument(
        "--include",
        action="append",
        metavar="PATTERN",
        help='only files matching (repeatable), e.g. --include "*.safetensors" --include "*.json"',
    )
    _json(dl)
    dl.set_defaults(func=cmd_download)

    rm = msub.add_parser("rm", help="delete a cached model or some of its revisions")
    rm.add_argument("repo_id")
    rm.add_argument(
        "--revision", action="append", help="only this revision (commit or ref; repeatable)"
    )
    rm.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    _json(rm)
    rm.set_defaults(func=cmd_rm)

    fit = msub.add_parser("fit", help="will it fit: weights, KV cache per token, TP size")
    fit.add_argument("model", help="repo id (cache, else Hub) or a config.json / model folder")
    fit.add_argument("--revision")
    _fit_args(fit)
    _json(fit)
    fit.set_defaults(func=cmd_fit)


def _json(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _fit_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpus", type=int, help="GPU count (default: what NVML sees)")
    p.add_argument("--gpu-memory", type=float, metavar="GIB", help="memory per GPU in GiB")
    p.add_argument("--memory-fraction", type=float, default=0.9, help="default 0.9")
    p.add_argument("--kv-dtype", default="auto", help="auto (model dtype), fp8, bf16, fp16")
    p.add_argument("--context", type=int, help="tokens one sequence needs (default: config max)")
    p.add_argument("--reserve", type=float, default=2.0, metavar="GIB", help="per-GPU reserve")


def _fail(args: argparse.Namespace, exc: Exception) -> int:
    kind = getattr(exc, "kind", "error")
    msg = getattr(exc, "message", None) or str(exc)
    if getattr(args, "json", False):
        print(json.dumps({"error": msg, "kind": kind}))
    print(f"error: {msg}", file=sys.stderr)
    return 1


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def cmd_list(args: argparse.Namespace) -> int:
    from llmops_tui.hub.cache import scan_cache
    from llmops_tui.hub.errors import HubError, format_age, format_size

    try:
        report = scan_cache()
    except HubError as exc:
        return _fail(args, exc)
    if args.json:
        print(
            json.dumps(
                {
                    "cache_dir": str(report.cache_dir),
                    "size_on_disk": report.size_on_disk,
                    "models": [m.to_dict() for m in report.models],
                    "warnings": list(report.warnings),
                },
                indent=2,
            )
        )
        return 0
    if not report.models:
        print(f"no models in {report.cache_dir}")
        return 0
    rows = [("REPO", "SIZE", "FILES", "REVISIONS", "LAST USED", "MODIFIED", "PARTIAL")]
    for m in report.models:
        revs = ", ".join(
            f"{r.commit[:8]}" + (f" ({','.join(r.refs)})" if r.refs else "") for r in m.revisions
        )
        partial = format_size(m.incomplete_bytes) if m.incomplete_bytes else ""
        rows.append(
            (
                m.repo_id,
                format_size(m.size_on_disk),
                str(m.nb_files),
                revs or "-",
                format_age(m.last_accessed),
                format_age(m.last_modified),
                partial,
            )
        )
    _table(rows)
    print(
        f"\n{len(report.models)} model(s), {format_size(report.size_on_disk)} in {report.cache_dir}"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from llmops_tui.hub.errors import HubError
    from llmops_tui.hub.search import SEARCH_COLUMNS, search_models

    try:
        results = search_models(
            args.text, task=args.task, library=args.library, sort=args.sort, limit=args.limit
        )
    except HubError as exc:
        return _fail(args, exc)
    if args.json:
        print(json.dumps([r.to_dict() for r in results], indent=2))
        return 0
    if not results:
        print("no models found")
        return 0
    rows = [tuple(c.upper() for c in SEARCH_COLUMNS)] + [r.cells() for r in results]
    _table(rows)
    return 0


def _gpus(args: argparse.Namespace):
    from llmops_tui.fit.gpus import gpus_given, read_nvml_gpus
    from llmops_tui.fit.units import GIB

    if args.gpus is not None or args.gpu_memory is not None:
        if args.gpus is None or args.gpu_memory is None:
            raise ValueError("give both --gpus N and --gpu-memory GIB (or neither, to use NVML)")
        if args.gpus < 1 or args.gpu_memory <= 0:
            raise ValueError("--gpus must be >= 1 and --gpu-memory > 0")
        return gpus_given(args.gpus, int(args.gpu_memory * GIB))
    return read_nvml_gpus


def _fit(args: argparse.Namespace, config: dict, params: int | None, source: str):
    from llmops_tui.fit.estimate import estimate_fit
    from llmops_tui.fit.units import GIB

    return estimate_fit(
        config,
        params=params,
        params_source=source,
        gpus=_gpus(args),
        memory_fraction=args.memory_fraction,
        kv_dtype=args.kv_dtype,
        context_len=args.context,
        reserve_bytes=int(args.reserve * GIB),
    )


def cmd_info(args: argparse.Namespace) -> int:
    from llmops_tui.fit.units import FitError
    from llmops_tui.hub.details import model_details
    from llmops_tui.hub.errors import HubError, format_size

    try:
        from pathlib import Path

        local = Path(args.repo_id).expanduser()
        if local.is_dir():  # a model folder on disk, not a repo id
            from llmops_tui.hub.details import folder_details

            d = folder_details(local)
        elif local.exists() or args.repo_id.startswith(("/", "./", "~", "../")):
            raise HubError(
                "usage",
                f"{args.repo_id}: not a model folder (expected a directory with config.json) "
                "and not a repo id (org/name)",
            )
        else:
            d = model_details(args.repo_id, args.revision)
        fit = None
        fit_error = None
        if d.config is not None:
            try:
                fit = _fit(args, d.config, d.params, "safetensors metadata")
            except FitError as exc:
                fit_error = str(exc)
    except (HubError, ValueError) as exc:
        return _fail(args, exc)
    if args.json:
        out: dict[str, Any] = d.to_dict()
        out["fit"] = fit.to_dict() if fit else None
        out["fit_error"] = fit_error
        print(json.dumps(out, indent=2, default=str))
        return 0
    origin = {"cache": "from the cache", "folder": "a local folder"}.get(d.source, "from the Hub")
    print(f"{d.repo_id}  ({origin})")
    print(f"  commit:   {d.commit or '?'}")
    print(f"  license:  {d.license or '?'}")
    gated = {False: "no", None: "?"}.get(d.gated, f"yes ({d.gated}): needs HF_TOKEN with access")
    print(f"  gated:    {gated}")
    if d.params:
        by = ", ".join(f"{k} {v:,}" for k, v in d.params_by_dtype.items())
        print(f"  params:   {d.params:,} ({by})")
    print(f"  dtype:    {d.dtype or '?'}   quantization: {d.quantization or 'none'}")
    print(f"  files:    {len(d.files)}, {format_size(d.total_size)}")
    for f in sorted(d.files, key=lambda f: -(f.size or 0))[:12]:
        print(f"    {format_size(f.size):>10}  {f.path}")
    if len(d.files) > 12:
        print(f"    … {len(d.files) - 12} more")
    if d.cached:
        print(f"  cached:   {format_size(d.cached.size_on_disk)} in {d.cached.path}")
    if d.config_error:
        print(f"  config:   {d.config_error}")
    if fit:
        print("fit:")
        for line in fit.lines:
            print(f"  {line}")
    elif fit_error:
        print(f"fit: {fit_error}")
    return 0


class _Printer:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def __call__(self, p) -> None:
        if self.quiet:
            return
        now = time.monotonic()
        if self.tty:
            sys.stderr.write("\r\x1b[K" + p.line()[:200])
            sys.stderr.flush()
        elif now - self.last >= 2 or p.state != "downloading":
            print(p.line(), file=sys.stderr)
            self.last = now

    def end(self) -> None:
        if self.tty and not self.quiet:
            sys.stderr.write("\n")


def cmd_download(args: argparse.Namespace) -> int:
    import threading

    from llmops_tui.hub.downloader import download
    from llmops_tui.hub.errors import HubError, format_size

    cancel = threading.Event()
    printer = _Printer(quiet=False)
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = download(
                args.repo_id,
                revision=args.revision,
                allow_patterns=args.include,
                progress=printer,
                cancel=cancel,
            )
        except HubError as exc:
            box["error"] = exc

    worker = threading.Thread(target=run, name="download", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        worker.join()
    printer.end()
    if "error" in box:
        rc = _fail(args, box["error"])
        return 130 if box["error"].kind == "cancelled" else rc
    res = box["result"]
    if args.json:
        print(json.dumps(res.to_dict(), indent=2))
    else:
        print(
            f"{res.repo_id}@{res.commit[:8]}: {len(res.files)} file(s) in {res.snapshot_path} "
            f"({format_size(res.downloaded_bytes)} downloaded, {format_size(res.resumed_bytes)} "
            f"resumed, {res.seconds:.1f} s)"
        )
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from llmops_tui.hub.delete import plan_delete
    from llmops_tui.hub.errors import HubError

    try:
        plan = plan_delete(args.repo_id, args.revision)
    except HubError as exc:
        return _fail(args, exc)
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"{plan.describe()}; re-run with --yes to delete", file=sys.stderr)
            if args.json:
                print(json.dumps({"deleted": False, **plan.to_dict()}))
            return 1
        answer = input(f"{plan.describe()}. Proceed? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing deleted")
            return 1
    try:
        plan.execute()
    except OSError as exc:
        return _fail(args, exc)
    if args.json:
        print(json.dumps({"deleted": True, **plan.to_dict()}))
    else:
        print(plan.describe().replace("delete ", "deleted ", 1).replace("frees", "freed"))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from llmops_tui.fit.units import FitError
    from llmops_tui.hub.cache import scan_cache
    from llmops_tui.hub.details import local_details, model_details
    from llmops_tui.hub.errors import HubError

    try:
        target = Path(args.model).expanduser()
        params, source = None, "safetensors metadata"
        if target.exists():
            cfg_path = target / "config.json" if target.is_dir() else target
            try:
                config = json.loads(cfg_path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{cfg_path}: not valid JSON: {exc}") from None
            if target.is_dir():
                from llmops_tui.hub.details import safetensors_param_counts

                counts = [safetensors_param_counts(p) for p in target.glob("*.safetensors")]
                params = sum(sum(c.values()) for c in counts) or None
                source = "local safetensors headers"
        else:
            cached = scan_cache().find(args.model)
            d = (
                local_details(cached, args.revision)
                if cached is not None
                else model_details(args.model, args.revision)
            )
            if d.config is None:
                raise HubError("no_config", d.config_error or f"{args.model} has no config.json")
            config, params = d.config, d.params
        result = _fit(args, config, params, source)
    except (HubError, FitError, ValueError, OSError) as exc:
        return _fail(args, exc)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print("\n".join(result.lines))
    return 0
