"""Where something was written in the configuration files."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Place:
    """A file and line, the line being nginx's: the one where the directive's `;` or `{` is."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class CommandLine(Place):
    """The directives of `-g`: nginx names no file or line for them, only "command line"."""

    def __str__(self) -> str:
        return "command line"


COMMAND_LINE = CommandLine("command line", 0)
