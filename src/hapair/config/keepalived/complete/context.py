"""The state the completion checks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..diagnostics import Severity
from ..host import Host
from ..model import KeepalivedConfig
from ..session import Session

Report = Callable[[Severity, str, str | None, int | None, bool], None]


@dataclass
class Completion:
    """Completion checks report without a place: keepalived runs them after the files are closed."""

    session: Session
    _report: Report

    @property
    def config(self) -> KeepalivedConfig:
        return self.session.config

    @property
    def host(self) -> Host:
        return self.session.host

    def report(self, severity: Severity, message: str) -> None:
        self._report(severity, message, None, None, False)

    def error(self, message: str) -> None:
        self.report(Severity.GENERAL_ERROR, message)

    def warn(self, message: str) -> None:
        self.report(Severity.WARNING, message)

    def log(self, message: str) -> None:
        """What keepalived only logs (see Diagnostic.log)."""
        self._report(Severity.OK, message, None, None, True)
