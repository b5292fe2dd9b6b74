"""The state the completion checks share."""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Reporting, Severity
from ..host import Host
from ..model import KeepalivedConfig
from ..reader import Report
from ..session import Session


@dataclass
class Completion(Reporting):
    """Completion checks report without a place: keepalived runs them after the files are closed."""

    session: Session
    _report: Report

    @property
    def config(self) -> KeepalivedConfig:
        return self.session.config

    @property
    def host(self) -> Host:
        return self.session.host

    def _emit(self, severity: Severity, message: str, *, log: bool) -> None:
        self._report(severity, message, None, None, log)
