"""``python -m console``: what ``shiftboss console`` runs once it knows where the engine is.

The token for a TCP engine comes from ``SHIFTBOSS_TOKEN`` (never from the command line, where
``ps`` would show it); ``--keymap`` carries the ``[console.keymap]`` table of config.toml as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from console.actions import check_keymap
from console.api import Target
from console.app import make_app
from console.errors import ConsoleError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shiftboss console", description=__doc__)
    parser.add_argument("--attach", required=True, help="engine Unix socket path, or http(s)://host:port")
    parser.add_argument("--read-only", action="store_true", help="hide every action that changes the engine")
    parser.add_argument("--keymap", default="{}", help="JSON object: action id → keys")
    args = parser.parse_args(argv)
    try:
        keymap = check_keymap(json.loads(args.keymap))
    except (ConsoleError, json.JSONDecodeError, AttributeError) as exc:
        print(f"shiftboss console: {exc}", file=sys.stderr)
        return 2
    target = Target(args.attach, token=os.environ.get("SHIFTBOSS_TOKEN") or None)
    make_app(target, read_only=args.read_only, keymap=keymap).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
