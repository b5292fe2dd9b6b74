"""A whole configuration: the main context, and the `http` and `stream` blocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .http import HttpConfig
from .logging import ErrorLog
from .place import Place
from .stream import StreamConfig


class InputForm(Enum):
    """How the file given was read (see `load.detect_form`)."""

    WHOLE = "a whole nginx.conf"
    MAIN_SNIPPET = "main-level directives, with an empty events {}"
    HTTP_SNIPPET = "http-level directives, read as the inside of http {}"


@dataclass(frozen=True, slots=True)
class NginxConfig:
    conf_file: str
    prefix: str
    form: InputForm
    files: tuple[str, ...]  # every file read, in order
    worker_processes: int
    worker_processes_auto: bool
    worker_connections: int
    pid: str
    error_logs: tuple[ErrorLog, ...]
    http: HttpConfig | None
    stream: StreamConfig | None
    defined: Mapping[str, Place]  # the main-context directives given: worker_processes, pid, events...
