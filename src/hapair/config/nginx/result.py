"""What reading an nginx configuration gives: the model, the messages and the files read.

A module of its own, apart from the reader (load.py), so that a process that only receives readings (the
proxy's master, which reads in a child process: proxy/cycle.py) does not import the reader to unpickle
one, nor hand it to the workers it forks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .errors import ConfigError, Message
    from .model.config import NginxConfig
    from .model.logging import ErrorLog


@dataclass(frozen=True, slots=True)
class LoadResult:
    """`reading`: messages while the files were read; `starting`: messages after (nginx prints "syntax is
    ok" between the two when reading succeeded), for the command line's log (`-e`) as `reading`;
    `logged`: messages after those, for the configuration's main error log (`error_logs`, known once the
    files are read). `error` is the message that stopped it, if any. `sources` are the files read, each
    once, with their bytes, in the order they were read (what `nginx -T` prints)."""

    conf_file: str
    config: NginxConfig | None
    reading: tuple[Message, ...]
    syntax_ok: bool
    starting: tuple[Message, ...]
    error: ConfigError | None
    logged: tuple[Message, ...] = ()
    error_logs: tuple[ErrorLog, ...] = ()
    sources: tuple[tuple[str, bytes], ...] = ()
