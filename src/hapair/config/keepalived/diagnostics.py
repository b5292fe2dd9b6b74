"""Configuration messages, their severity, and the `-t` exit status they add up to.

The severities are keepalived 2.2.7's `config_err_t`, in the same order: `keepalived -t` exits with a status
chosen from the numerically largest severity reported, so the order is part of the behaviour.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum


class Severity(IntEnum):
    OK = 0
    # keepalived cannot run the configuration
    FILE_NOT_FOUND = 1
    BAD_IF = 2
    FATAL = 3
    # configuration errors keepalived still runs with
    MULTIPLE_FILES = 4
    UNKNOWN_KEYWORD = 5
    UNEXPECTED_BOB = 6
    MISSING_BOB = 7
    UNEXPECTED_EOB = 8
    MISSING_EOB = 9
    UNMATCHED_QUOTE = 10
    MISSING_PARAMETER = 11
    INVALID_NUMBER = 12
    GENERAL_ERROR = 13
    WARNING = 14
    DEPRECATED = 15
    # scripts are configured but script security is not enabled
    SECURITY_ERROR = 16


EXIT_OK = 0
EXIT_MISSING_PARAMETER = 2
EXIT_FATAL = 4
EXIT_ERRORS = 5
EXIT_SECURITY = 6


def exit_status(worst: Severity) -> int:
    """The `-t` exit status for the worst severity seen (keepalived's `config_test_exit`)."""
    if worst == Severity.OK:
        return EXIT_OK
    if worst <= Severity.FATAL:
        return EXIT_FATAL
    if worst == Severity.SECURITY_ERROR:
        return EXIT_SECURITY
    return EXIT_ERRORS


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One message. `log` marks a message keepalived only writes to its log (its `-t` does not print it);
    hapair's `-t` prints it too, since it says what was ignored, without counting it as an error."""

    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    log: bool = False

    def render(self) -> str:
        """keepalived's form: `(file: Line N) message`, or the bare message when it has no place."""
        if self.file is not None and self.line:
            return f"({self.file}: Line {self.line}) {self.message}"
        return self.message


class Reporting(ABC):
    """What reports configuration messages: `report` is keepalived's `report_config_error`, `error` and
    `warn` its most common severities, `log` keepalived's `log_message`."""

    @abstractmethod
    def _emit(self, severity: Severity, message: str, *, log: bool) -> None:
        """Record one message (`log`: see Diagnostic)."""

    def report(self, severity: Severity, message: str) -> None:
        self._emit(severity, message, log=False)

    def error(self, message: str) -> None:
        self.report(Severity.GENERAL_ERROR, message)

    def warn(self, message: str) -> None:
        self.report(Severity.WARNING, message)

    def log(self, message: str) -> None:
        """A message keepalived only logs: shown by hapair's `-t` too, but not counted as an error."""
        self._emit(Severity.OK, message, log=True)


class MissingParameterError(Exception):
    """A keyword lacks a parameter: keepalived stops reading at once and exits with status 2."""


@dataclass
class Report:
    """Every message of one configuration read, in the order they were found, each once: the same text at
    the same place again (keepalived repeats messages once per process, and some checks twice at two
    severities) is kept once, with the higher severity."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    _index: dict[tuple[str, str | None, int | None, bool], int] = field(default_factory=dict)

    def add(self, diagnostic: Diagnostic) -> None:
        key = (diagnostic.message, diagnostic.file, diagnostic.line, diagnostic.log)
        index = self._index.get(key)
        if index is None:
            self._index[key] = len(self.diagnostics)
            self.diagnostics.append(diagnostic)
        elif diagnostic.severity > self.diagnostics[index].severity:
            self.diagnostics[index] = diagnostic

    @property
    def worst(self) -> Severity:
        return max((d.severity for d in self.diagnostics), default=Severity.OK)

    def __iter__(self) -> Iterator[Diagnostic]:
        return iter(self.diagnostics)

    def __len__(self) -> int:
        return len(self.diagnostics)
