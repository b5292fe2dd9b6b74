"""Error logs as nginx writes them: `2026/11/26 06:24:39 [error] 12#12: text`, each line to every target
whose level it reaches. The process's main error log (the main context's `error_log`, else stderr at
`notice`) takes the Python `logging` records of the data planes; an `error_log` of an http server or
location gets that place's request errors (a failed upstream...) instead of the main one."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable
from typing import IO

from hapair.config.nginx.model.logging import ErrorLevel, ErrorLog

SEVERITY = {level: rank for rank, level in enumerate(ErrorLevel)}
_PYTHON_LEVELS = (
    (logging.CRITICAL, ErrorLevel.CRIT),
    (logging.ERROR, ErrorLevel.ERROR),
    (logging.WARNING, ErrorLevel.WARN),
    (logging.INFO, ErrorLevel.INFO),
)


class ErrorLogWriter:
    """The lines of one `error_log` set (stderr at `notice` when it is empty) to their targets."""

    def __init__(self, logs: tuple[ErrorLog, ...]) -> None:
        self._logs = logs
        self._targets: list[tuple[IO[bytes], int, bool]] = []
        self._open()

    def _open(self) -> None:
        for error_log in self._logs:
            if error_log.target == "stderr":
                self._targets.append((sys.stderr.buffer, SEVERITY[error_log.level], False))
            else:
                self._targets.append((_append(error_log.target), SEVERITY[error_log.level], True))
        if not self._targets:
            self._targets.append((sys.stderr.buffer, SEVERITY[ErrorLevel.NOTICE], False))

    def reopen(self) -> None:
        """Open the files again (after rotation)."""
        self.close()
        self._open()

    def write(self, level: ErrorLevel, text: str) -> None:
        pid = os.getpid()
        line = f"{time.strftime('%Y/%m/%d %H:%M:%S')} [{level.value}] {pid}#{pid}: {text}\n".encode(
            "utf-8", "surrogateescape"
        )
        rank = SEVERITY[level]
        for target, threshold, _ in self._targets:
            if rank <= threshold:
                target.write(line)
                target.flush()

    def close(self) -> None:
        for target, _, owned in self._targets:
            if owned:
                target.close()
        self._targets.clear()


def _append(path: str) -> IO[bytes]:
    return open(path, "ab")


class ErrorLogHandler(logging.Handler):
    """Python `logging` records of the data planes (a worker's accept() failing...) as error log lines."""

    def __init__(self, writer: ErrorLogWriter) -> None:
        super().__init__()
        self._writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        level = getattr(record, _NGINX_LEVEL, None)
        if not isinstance(level, ErrorLevel):
            levels = (nginx for python, nginx in _PYTHON_LEVELS if record.levelno >= python)
            level = next(levels, ErrorLevel.DEBUG)
        self._writer.write(level, record.getMessage())


_MAIN = logging.getLogger("hapair.proxy")
_LOGGING_LEVELS = {  # for `logging`'s own filtering; the line keeps its nginx level (_NGINX_LEVEL)
    ErrorLevel.EMERG: logging.CRITICAL,
    ErrorLevel.ALERT: logging.CRITICAL,
    ErrorLevel.CRIT: logging.CRITICAL,
    ErrorLevel.ERROR: logging.ERROR,
    ErrorLevel.WARN: logging.WARNING,
    ErrorLevel.NOTICE: logging.INFO,
    ErrorLevel.INFO: logging.INFO,
    ErrorLevel.DEBUG: logging.DEBUG,
}
_NGINX_LEVEL = "nginx_level"  # the record attribute that carries a line's own nginx level


def to_main_log(level: ErrorLevel, text: str) -> None:
    """A line for the process's main error log (through `logging`, which the worker hands to it), at its
    own nginx level: `notice`, `alert` and `emerg` have no `logging` level of their own."""
    _MAIN.log(_LOGGING_LEVELS[level], text, extra={_NGINX_LEVEL: level})


class ErrorLogFiles:
    """The `error_log` sets of a service's servers and locations, each opened once."""

    def __init__(self) -> None:
        self._writers: dict[tuple[ErrorLog, ...], ErrorLogWriter] = {}

    def sink(self, logs: tuple[ErrorLog, ...]) -> Callable[[ErrorLevel, str], None]:
        """Where a server's or location's lines go: its own `error_log` set, else the main error log."""
        if not logs:
            return to_main_log
        writer = self._writers.get(logs)
        if writer is None:
            writer = self._writers[logs] = ErrorLogWriter(logs)
        return writer.write

    def reopen(self) -> None:
        for writer in self._writers.values():
            writer.reopen()

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
