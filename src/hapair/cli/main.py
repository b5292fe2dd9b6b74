"""`hapair` command-line entry point: one sub-command per part of the system.

Each sub-command's module is imported only when that sub-command runs (or for `hapair --help`): `hapair
vrrp` does not pay for the load balancer's or the lab's imports, which took it from 0.3 s to 1.3 s to
start (issue 15's start-up budget)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hapair import __version__

if TYPE_CHECKING:
    import argparse

# sub-command -> the module whose `register(commands)` adds it
COMMANDS = {
    "vrrp": "hapair.cli.vrrp",
    "proxy": "hapair.cli.proxy",
    "node": "hapair.cli.node",
    "lab": "hapair.cli.lab",
    "bgp": "hapair.cli.bgp",
    "status": "hapair.cli.status",
    "install-units": "hapair.cli.units",
}
# sub-commands that read their own options (`proxy`: nginx's; `vrrp`: the plain forms of its options,
# leaving help and errors to argparse), run without argparse, which would be 0.3 to 0.4 MB of each of
# their processes' memory (issue 15's budgets for a proxy worker and the VRRP daemon)
OWN_OPTIONS = {"proxy", "vrrp"}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or of `only` when it names one."""
    from hapair.cli.parsing import Parser  # noqa: PLC0415

    parser = Parser(prog="hapair", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"hapair {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in COMMANDS.items():
        if only is None or only == name:
            importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    only = arguments[0] if arguments and arguments[0] in COMMANDS else None
    if only in OWN_OPTIONS:
        return int(importlib.import_module(COMMANDS[only]).run_argv(arguments[1:]))
    args = build_parser(only).parse_args(arguments)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
