"""`hapair install-units`: hapair's systemd unit files written where systemd reads them, naming this
`hapair` command by its absolute path."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from hapair.units import DEFAULT_DESTINATION, install


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "install-units", help="write hapair's systemd unit files (then: systemctl daemon-reload)"
    )
    parser.add_argument(
        "--destination",
        default=DEFAULT_DESTINATION,
        help=f"where to write them (default {DEFAULT_DESTINATION})",
    )
    parser.add_argument(
        "--executable", default=None, help="the hapair command the units run (default: this one)"
    )
    parser.set_defaults(run=run)


def _this_command() -> str:
    """The `hapair` command running now (`python -m hapair` names its module: the one on PATH then)."""
    command = sys.argv[0]
    if command.endswith("__main__.py"):
        return shutil.which("hapair") or command
    return shutil.which(command) or command


def run(args: argparse.Namespace) -> int:
    executable = str(Path(args.executable or _this_command()).absolute())
    destination = Path(args.destination)
    if not destination.is_dir():
        print(f"hapair: {destination} is not a directory", file=sys.stderr)
        return 1
    for path in install(destination, executable):
        print(path)
    return 0
