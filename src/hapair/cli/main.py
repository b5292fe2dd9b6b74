"""`hapair` command-line entry point: one sub-command per part of the system.

Each sub-command's module is imported only when that sub-command runs (or for `hapair --help`): `hapair
vrrp` does not pay for the load balancer's or the lab's imports, which took it from 0.3 s to 1.3 s to
start (issue 15's start-up budget)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from hapair import __version__

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


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help layout, the terminal's width found without importing shutil (argparse imports it
    for each argument added; with the zlib, bz2 and lzma modules it imports, 0.5 MB of the VRRP daemon's
    memory)."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class Parser(argparse.ArgumentParser):
    """An argument parser with hapair's HelpFormatter; its sub-command parsers are Parsers too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def terminal_columns() -> int:
    """The columns shutil.get_terminal_size() gives: $COLUMNS, else standard output's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every sub-command, or of `only` when it names one."""
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
    args = build_parser(only).parse_args(arguments)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
