"""`llmops envs list|create|rm`: engine environments."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list, create and remove engine environments")
    esub = p.add_subparsers(dest="envs_command", metavar="ACTION", required=True)

    ls = esub.add_parser(
        "list", help="every engine environment found (managed, PATH, profiles, Docker)"
    )
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.add_argument(
        "--no-import-check",
        action="store_true",
        help="only read versions (fast); skip importing each engine in its env",
    )
    ls.add_argument("--refresh", action="store_true", help="ignore cached probe results")
    ls.set_defaults(func=cmd_list)

    create = esub.add_parser("create", help="create a managed env and install an engine in it")
    create.add_argument("name", help='environment name (used by profiles: env = "NAME")')
    create.add_argument("--engine", required=True, choices=["vllm", "sglang"])
    create.add_argument(
        "--spec", help='what to install (default: "vllm" / "sglang[all]"), e.g. "vllm==0.33.0"'
    )
    create.add_argument(
        "--no-reuse",
        action="store_true",
        help="reinstall even when an env with the same engine and spec works",
    )
    create.add_argument("--python", help="base interpreter for the venv (default: this one)")
    create.set_defaults(func=cmd_create)

    rm = esub.add_parser("rm", help="remove a managed env")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_rm)


def _cell(value: object) -> str:
    return "-" if value in (None, "") else str(value)


def cmd_list(args: argparse.Namespace) -> int:
    from llmops_tui.envs.discovery import discover
    from llmops_tui.envs.managed import envs_dir

    envs, docker = discover(import_check=not args.no_import_check, use_cache=not args.refresh)
    if args.json:
        out = {
            "envs_dir": str(envs_dir()),
            "envs": [e.to_dict() for e in envs],
            "docker": {
                "state": docker.state,
                "message": docker.message,
                "images": len(docker.images),
            }
            if docker
            else None,
        }
        print(json.dumps(out, indent=2))
        return 0
    import shutil
    import textwrap

    # Fit the terminal (100 columns when not one): one line per env with its state in a
    # word, and what is wrong on an indented line under it (was ~230 columns a row).
    width = max(60, shutil.get_terminal_size((100, 24)).columns)
    rows = [("NAME", "KIND", "ENGINE", "VERSION", "PYTHON", "TORCH", "CUDA", "IMPORT", "STATUS")]
    notes: list[str] = []
    for e in envs:
        imp = {True: "ok", False: "FAILS", None: "-"}[e.importable]
        name = e.name
        if len(name) > 32:  # an image: its registry path goes, its name and tag stay
            name = "…/" + name.rsplit("/", 1)[-1]
        rows.append(
            (
                name,
                e.kind,
                _cell(e.engine),
                _cell(e.engine_version),
                _cell(e.python_version),
                _cell(e.torch_version),
                _cell(e.cuda),
                imp,
                e.status,
            )
        )
        notes.append(e.message if e.message and e.status != "ready" else "")
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for i, r in enumerate(rows):
        print(("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1]).rstrip())
        note = notes[i - 1] if i else ""
        if note:
            print(textwrap.fill(note, width, initial_indent="    ", subsequent_indent="    "))
    print(f"\nmanaged environments: {envs_dir()}")
    if docker is not None and not docker.available and not any(e.kind == "docker" for e in envs):
        print(textwrap.fill(f"docker: {docker.message}", width, subsequent_indent="    "))
    return 0


def cmd_create(args: argparse.Namespace) -> int:
    from llmops_tui.envs.install import create
    from llmops_tui.envs.records import EnvError, InstallProgress

    def show(event: InstallProgress) -> None:
        if event.stage == "failed":
            return  # the error is printed below, once
        print(("==> " if event.step else "") + event.line, flush=True)

    try:
        env = create(
            args.name,
            args.engine,
            spec=args.spec,
            reuse=not args.no_reuse,
            progress_callback=show,
            python=args.python,
        )
    except EnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"{env.name}: {env.engine_dist or env.engine} {env.engine_version}, "
        f"Python {env.python_version}, torch {env.torch_version} ({env.cuda}): {env.interpreter}"
    )
    return 0


def cmd_rm(args: argparse.Namespace) -> int:
    from llmops_tui.envs.install import remove
    from llmops_tui.envs.records import EnvError

    try:
        path = remove(args.name)
    except EnvError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"removed {path}")
    return 0
