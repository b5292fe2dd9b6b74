"""What reading a keepalived configuration gives: the model, the messages and how the reading ended.

A module of its own, apart from the reader (load.py), so that a process that only receives readings (the
VRRP daemon, which reads in a child process: vrrp/reading.py) does not import the reader to unpickle one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .diagnostics import EXIT_FATAL, EXIT_MISSING_PARAMETER, Report, exit_status

if TYPE_CHECKING:
    from .model import KeepalivedConfig


@dataclass
class LoadResult:
    config: KeepalivedConfig
    report: Report = field(default_factory=Report)
    missing_parameter: bool = False
    stopped: bool = False  # reading stopped at a fatal error

    @property
    def exit_status(self) -> int:
        """The status `keepalived -t` exits with, except where keepalived 2.2.7 is wrong: a missing main
        file (keepalived: 0), a missing required include (keepalived: 6, its `-t` status for script
        security) and a `net_namespace` that does not exist (keepalived: 0, having checked nothing) all
        give 4 here."""
        if self.missing_parameter:
            return EXIT_MISSING_PARAMETER
        if self.stopped:
            return EXIT_FATAL
        return exit_status(self.report.worst)
