"""The argparse parser the sub-commands register their options in, with hapair's help layout. Imported
only by the sub-commands that use argparse: `hapair proxy` reads nginx's options itself (cli/main.py)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


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
