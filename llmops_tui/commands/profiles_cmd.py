"""`llmops profiles list|check|show`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("profiles", help="list and check launch profiles")
    psub = p.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)

    ls = psub.add_parser("list", help="list profiles in the search path")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=cmd_list)

    check = psub.add_parser("check", help="validate profile files; exit 1 on any error")
    check.add_argument(
        "files",
        nargs="*",
        type=Path,
        help="profile files (default: every profile in the search path)",
    )
    check.set_defaults(func=cmd_check)

    show = psub.add_parser("show", help="print one profile as resolved (defaults filled in)")
    show.add_argument("name", help="profile name or path to a .toml file")
    show.set_defaults(func=cmd_show)


def cmd_list(args: argparse.Namespace) -> int:
    from llmops_tui.config import profile_search_path
    from llmops_tui.profiles.store import list_profiles

    entries = list_profiles()
    if args.json:
        out = []
        for e in entries:
            row = {
                "name": e.name,
                "path": str(e.path),
                "ok": e.ok,
                "errors": [str(i) for i in e.issues if i.severity == "error"],
                "hidden": [str(h) for h in e.hidden],  # same name, same folder: not listed
            }
            if e.profile:
                row.update(
                    engine=e.profile.engine,
                    model=e.profile.model,
                    host=e.profile.host,
                    port=e.profile.port,
                    tensor_parallel=e.profile.tensor_parallel,
                )
            out.append(row)
        print(json.dumps(out, indent=2))
        return 0
    if not entries:
        dirs = ", ".join(str(d) for d in profile_search_path())
        print(f"no profiles found in {dirs}")
        return 0
    rows = [("NAME", "ENGINE", "MODEL", "ADDRESS", "TP", "STATUS")]
    for e in entries:
        if e.profile:
            p = e.profile
            status = "ok" + (f", hides {', '.join(h.name for h in e.hidden)}" if e.hidden else "")
            rows.append(
                (p.name, p.engine, p.model, f"{p.host}:{p.port}", str(p.tensor_parallel), status)
            )
        else:
            n = sum(1 for i in e.issues if i.severity == "error")
            rows.append(
                (e.name, "?", "?", "?", "?", f"{n} error(s): llmops profiles check {e.path}")
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    for e in entries:
        for issue in e.issues:
            if issue.severity == "warning" and e.hidden and issue.field == "name":
                print(issue, file=sys.stderr)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from llmops_tui.profiles.store import list_profiles
    from llmops_tui.profiles.validation import check_profile_file

    if args.files:
        results = [(f, *check_profile_file(f)) for f in args.files]
        by_name: dict[str, Path] = {}
        for path, profile, _ in results:
            if profile is None:
                continue
            if profile.name in by_name and by_name[profile.name].parent == path.parent:
                print(
                    f"{path}: warning: name: '{profile.name}' is also the name of "
                    f"{by_name[profile.name]} in the same folder; only one of them is listed "
                    "and launchable by name: rename one"
                )
            by_name.setdefault(profile.name, path)
    else:
        results = [(e.path, e.profile, e.issues) for e in list_profiles()]
    if not results:
        print("no profiles to check", file=sys.stderr)
        return 1
    failed = 0
    for path, profile, issues in results:
        for issue in issues:
            print(issue, file=sys.stderr if issue.severity == "error" else sys.stdout)
        if profile is None:
            failed += 1
        else:
            print(f"{path}: ok ({profile.name}: {profile.engine} {profile.model})")
    if failed:
        print(f"{failed} of {len(results)} profile(s) invalid", file=sys.stderr)
        return 1
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from llmops_tui.profiles.profile import ProfileError
    from llmops_tui.profiles.store import ProfileNotFound, find_profile, to_toml

    try:
        profile = find_profile(args.name)
    except (ProfileError, ProfileNotFound) as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"# {profile.path}")
    print(to_toml(profile), end="")
    return 0
