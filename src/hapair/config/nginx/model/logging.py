"""Logging: `log_format`, `access_log`, `error_log`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .addresses import SocketAddress
from .place import Place
from .templates import Template


class LogEscape(Enum):
    """How variable values are escaped in an access log line (`log_format ... escape=`)."""

    DEFAULT = "default"  # `"`, `\` and bytes < 32 or > 126 as \xXX
    JSON = "json"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class LogFormat:
    name: str
    escape: LogEscape
    template: Template  # the format's strings joined
    place: Place | None  # None for nginx's built-in `combined`


@dataclass(frozen=True, slots=True)
class SyslogTarget:
    """`syslog:server=ADDRESS[,facility=][,severity=][,tag=][,nohostname]` (ngx_syslog.c)."""

    server: SocketAddress  # UDP (port 514 by default) or a unix datagram socket
    facility: int  # 0 kern ... 23 local7 (nginx's default)
    severity: int  # 0 emerg ... 7 debug; info (6) by default; an error log's lines carry their own
    tag: str  # "nginx" by default
    hostname: bool  # the header names the host (`nohostname` leaves it out)


@dataclass(frozen=True, slots=True)
class AccessLog:
    path: str  # absolute (`syslog:...` as written for a syslog one)
    format: LogFormat
    buffer: int  # bytes; 0: written at once
    flush: int  # milliseconds; 0: when the buffer is full
    condition: Template | None  # `if=`: logged unless the value is empty or "0"
    place: Place | None  # None for nginx's default access log
    syslog: SyslogTarget | None = None  # lines sent to syslog rather than written to `path`


class ErrorLevel(Enum):
    """nginx's log levels, most severe first; `debug_*` levels select debug messages of one kind."""

    EMERG = "emerg"
    ALERT = "alert"
    CRIT = "crit"
    ERROR = "error"
    WARN = "warn"
    NOTICE = "notice"
    INFO = "info"
    DEBUG = "debug"


@dataclass(frozen=True, slots=True)
class ErrorLog:
    target: str  # an absolute path, "stderr", or `syslog:...` as written
    level: ErrorLevel
    debug: tuple[str, ...]  # debug_core, debug_http...: the kinds of debug messages asked for
    place: Place | None  # None for nginx's default error log
    syslog: SyslogTarget | None = None
