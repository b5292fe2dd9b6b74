"""Where the VRRP daemon's log lines go: syslog by default (ident `hapair_vrrp[PID]`, facility daemon or
the one -S names), the console with -l (keepalived's `Thu Nov 26 02:24:40 2026: ` prefix), a file with -g.
logging.handlers (and the pickle, queue and copy modules it imports) is imported only for syslog."""

from __future__ import annotations

import logging
import os
import sys
import time

SYSLOG_SOCKET = "/dev/log"
LOG_USER, LOG_DAEMON, LOG_LOCAL0 = 1, 3, 16  # <syslog.h>'s facility codes, as SysLogHandler takes them
FACILITIES = {
    **{str(n): LOG_LOCAL0 + n for n in range(8)},
    **{f"local{n}": LOG_LOCAL0 + n for n in range(8)},
    "user": LOG_USER,
    "daemon": LOG_DAEMON,
}


class ConsoleFormatter(logging.Formatter):
    """keepalived's console format: `%a %b %e %T %Y: message` in local time."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%a %b %e %T %Y", time.localtime(record.created))
        return f"{stamp}: {record.getMessage()}"


class SyslogFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"hapair_vrrp[{os.getpid()}]: {record.getMessage()}"


def configure_logging(
    *, console: bool, syslog: bool, facility: str = "daemon", log_file: str | None = None
) -> logging.Logger:
    """The daemon's logger, writing to the chosen places."""
    logger = logging.getLogger("hapair.vrrp")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if console:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(ConsoleFormatter())
        logger.addHandler(handler)
    if log_file:
        handler = logging.FileHandler(log_file)
        handler.setFormatter(ConsoleFormatter())
        logger.addHandler(handler)
    if syslog and os.path.exists(SYSLOG_SOCKET):
        from logging.handlers import SysLogHandler  # noqa: PLC0415 (only for syslog)

        handler = SysLogHandler(address=SYSLOG_SOCKET, facility=FACILITIES[facility])
        handler.setFormatter(SyslogFormatter())
        logger.addHandler(handler)
    return logger
