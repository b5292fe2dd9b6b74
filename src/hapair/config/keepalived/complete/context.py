"""The state the completion checks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..diagnostics import Severity
from ..host import Host
from ..model import KeepalivedConfig


@dataclass
class Completion:
    config: KeepalivedConfig
    host: Host
    config_test: bool
    report: Callable[[Severity, str], None]

    def error(self, message: str) -> None:
        self.report(Severity.GENERAL_ERROR, message)

    def warn(self, message: str) -> None:
        self.report(Severity.WARNING, message)

    def log(self, message: str) -> None:
        self.report(Severity.OK, message)
