"""`hapair` command-line entry point: one sub-command per part of the system."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hapair import __version__

from . import lab, node, proxy, vrrp


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hapair", description=__doc__)
    parser.add_argument("--version", action="version", version=f"hapair {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    vrrp.register(commands)
    proxy.register(commands)
    node.register(commands)
    lab.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
