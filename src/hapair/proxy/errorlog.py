"""Error logs as nginx writes them: `2026/11/26 06:24:39 [error] 12#12: text`, each line to every target
whose level it reaches. The process's main error log (the main context's `error_log`, else stderr at
`notice`) takes the Python `logging` records of the data planes; an `error_log` of an http server or
location gets that place's request errors (a failed upstream...) instead of the main one.

Until the master has started (nginx's ngx_use_stderr), a writer given a `console` (the terminal: stderr, or
a copy of it kept while stderr already goes to the error log file) also prints there a line from `warn` up
as `nginx: [level] text` when none of its targets is stderr: so a start that fails says why on the
terminal whatever the error log is. `command_line_log` is nginx's first log, the one `-e`
names, which takes the messages of reading the configuration."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

from hapair.config.nginx.errors import Message, os_error_text
from hapair.config.nginx.model.logging import ErrorLevel, ErrorLog
from hapair.config.nginx.paths import Paths

from .syslog import SyslogPeer

SEVERITY = {level: rank for rank, level in enumerate(ErrorLevel)}
_PYTHON_LEVELS = (
    (logging.CRITICAL, ErrorLevel.CRIT),
    (logging.ERROR, ErrorLevel.ERROR),
    (logging.WARNING, ErrorLevel.WARN),
    (logging.INFO, ErrorLevel.INFO),
)
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
STDERR = "stderr"


class ErrorLogWriter:
    """The lines of one `error_log` set (stderr at `notice` when it is empty) to their targets."""

    def __init__(self, logs: tuple[ErrorLog, ...], *, console: IO[bytes] | None = None) -> None:
        self._logs = logs
        self._targets: list[tuple[IO[bytes], int, bool]] = []
        self._syslog = [
            (SyslogPeer(log.syslog), SEVERITY[log.level]) for log in logs if log.syslog is not None
        ]
        self.console = console
        self._open()

    def _open(self) -> None:
        for error_log in self._logs:
            if error_log.syslog is not None:
                continue
            if error_log.target == STDERR:
                self._targets.append((sys.stderr.buffer, SEVERITY[error_log.level], False))
            else:
                self._targets.append((_append(error_log.target), SEVERITY[error_log.level], True))
        if not self._targets and not self._syslog:
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
        wrote_stderr = False
        for target, threshold, owned in self._targets:
            if rank <= threshold:
                target.write(line)
                target.flush()
                wrote_stderr = wrote_stderr or not owned
        for peer, threshold in self._syslog:
            if rank <= threshold:
                peer.send(line[:-1], severity=rank)
        if not wrote_stderr:
            self.echo(level, text)

    def echo(self, level: ErrorLevel, text: str) -> None:
        """The console's copy of a line written elsewhere (see the module's documentation)."""
        if self.console is None or SEVERITY[level] > SEVERITY[ErrorLevel.WARN] or self.to_stderr:
            return
        self.console.write(f"nginx: [{level.value}] {text}\n".encode("utf-8", "surrogateescape"))
        self.console.flush()

    def message(self, message: Message) -> None:
        """A message of reading or starting the configuration, at its level, with its place."""
        self.write(ErrorLevel(message.severity.value), message.located())

    @property
    def to_stderr(self) -> bool:
        return any(not owned for _, _, owned in self._targets)

    def close(self) -> None:
        for target, _, owned in self._targets:
            if owned:
                target.close()
        self._targets.clear()
        for peer, _ in self._syslog:
            peer.close()


def console_line(text: str) -> None:
    """`nginx: text` on stderr (ngx_log_stderr)."""
    sys.stderr.flush()
    sys.stderr.buffer.write(f"nginx: {text}\n".encode("utf-8", "surrogateescape"))
    sys.stderr.buffer.flush()


def command_line_log(error_log: str | None, prefix: str | None, level: ErrorLevel) -> ErrorLogWriter:
    """ngx_log_init: `-e FILE` (relative to the prefix), else stderr (Debian's --error-log-path); a file
    that cannot be opened is said on stderr, and stderr is used instead."""
    target = STDERR
    if error_log not in (None, "", STDERR):
        path = Paths.for_config("", prefix).from_prefix(str(error_log))
        try:
            os.close(os.open(path, _OPEN_FLAGS, 0o644))
            target = path
        except OSError as error:
            console_line(
                f'[alert] could not open error log file: open() "{path}" failed {os_error_text(error)}'
            )
    return ErrorLogWriter((ErrorLog(target, level, (), None),), console=sys.stderr.buffer)


def _append(path: str) -> IO[bytes]:
    """A log file as nginx opens it: appended to, created with mode 0644 (whatever the umask, which a
    daemon sets to 0)."""
    return os.fdopen(os.open(path, _OPEN_FLAGS, 0o644), "ab")


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
_MAIN.setLevel(logging.DEBUG)  # the error log's writer keeps what its own level allows, `info` included
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
    own nginx level: `notice`, `alert` and `emerg` have no `logging` level of their own. The log's own
    level decides whether it is written (`info` lines too), not `logging`'s."""
    record = _MAIN.makeRecord(
        _MAIN.name, _LOGGING_LEVELS[level], "", 0, text, None, None, extra={_NGINX_LEVEL: level}
    )
    _MAIN.handle(record)


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


def log_loop_errors(loop: asyncio.AbstractEventLoop, log: ErrorLogWriter) -> None:
    """What escapes a callback of the data plane (a bug: bad input is answered where it is read) goes to
    the error log at `alert` with its traceback, instead of a console nobody reads."""

    def handle(_: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        text = str(context.get("message", "unexpected error"))
        if isinstance(error, BaseException):
            text += ": " + "".join(traceback.format_exception(error)).rstrip()
        log.write(ErrorLevel.ALERT, text)

    loop.set_exception_handler(handle)
