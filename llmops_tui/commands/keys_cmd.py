"""`llmops keys`: the TUI's binding ids, the keys in force and what each does.

The ids come from the app's real bindings (``ui/keys.py`` imports the UI's modules, here
only, when the command runs); remap them in ``keymap.toml`` in the config dir::

    [keys]
    "engines.launch" = "L"

Exit codes: 0; 1 when keymap.toml has a problem (each printed on stderr, file:line: field).
"""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    helptext = "list the TUI's key bindings (id, keys, action); remap them in keymap.toml"
    p = sub.add_parser("keys", help=helptext, description=helptext)
    p.add_argument(
        "--check", action="store_true", help="only check keymap.toml (exit 1 on a problem)"
    )
    p.set_defaults(func=cmd_keys)


def cmd_keys(args: argparse.Namespace) -> int:
    from llmops_tui.keymap import keymap_path, keys_in_force, read_keymap
    from llmops_tui.ui.keys import binding_catalogue, binding_scopes

    catalogue = binding_catalogue()
    path = keymap_path()
    keymap, issues = read_keymap(catalogue.keys(), path, binding_scopes(catalogue))
    for issue in issues:
        print(issue, file=sys.stderr)
    if not args.check:
        keys = keys_in_force({i: b.binding.key for i, b in catalogue.items()}, keymap)
        id_width = max(map(len, catalogue))
        key_width = max(map(len, keys.values()))
        for binding_id, bound in catalogue.items():
            b = bound.binding
            what = b.tooltip or b.description or b.action
            mark = "*" if binding_id in keymap else " "
            print(f"{binding_id:<{id_width}}  {keys[binding_id]:<{key_width}} {mark} {what}")
        state = "exists" if path.is_file() else "absent"
        print(f"\n* set in {path} ({state})")
    return 1 if issues else 0
