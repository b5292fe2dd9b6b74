"""A whole configuration: the main context, and the `http` and `stream` blocks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from .addresses import SocketAddress
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
class WorkerUser:
    """Who the worker processes run as (`user NAME [GROUP]`, else nginx's nobody:nogroup when the master
    runs as root): `name` is what initgroups() is given."""

    name: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class CpuAffinity:
    """`worker_cpu_affinity`: one CPU set per worker (the last repeats), or with `auto` each worker bound
    to the next CPU of `masks[-1]` in turn."""

    auto: bool
    masks: tuple[frozenset[int], ...]

    def for_worker(self, number: int) -> frozenset[int] | None:
        """The CPUs of worker `number` (from 0), as ngx_get_cpu_affinity chooses them; None: no binding."""
        if not self.auto:
            return self.masks[min(number, len(self.masks) - 1)]
        cpus = sorted(self.masks[-1])
        return frozenset({cpus[number % len(cpus)]}) if cpus else None


@dataclass(frozen=True, slots=True)
class Processes:
    """How nginx's processes run (the core module's directives)."""

    daemon: bool  # `daemon`: the command returns once the master, in the background, serves
    master: bool  # `master_process`: off serves in the one process
    user: WorkerUser | None  # None: the master does not run as root, the workers keep its user
    priority: int  # `worker_priority`: the workers' nice value (0: unchanged)
    cpu_affinity: CpuAffinity | None
    rlimit_nofile: int | None  # `worker_rlimit_nofile`
    rlimit_core: int | None  # `worker_rlimit_core`, in bytes
    shutdown_timeout_ms: int  # `worker_shutdown_timeout`: 0, a graceful stop waits for every connection
    working_directory: str | None
    environment: tuple[str, ...]  # `env` values, `NAME` or `NAME=value`, in order
    lock_file: str


@dataclass(frozen=True, slots=True)
class ListeningSocket:
    """An address the configuration listens on (nginx's cycle->listening), as bound."""

    address: SocketAddress
    ipv6only: bool
    udp: bool = False  # SOCK_DGRAM


@dataclass(frozen=True, slots=True)
class ThreadPool:
    """A `thread_pool`: `threads` threads, at most `max_queue` tasks waiting for one (nginx's `default`
    pool, made when `aio threads` names none: 32 and 65536)."""

    name: str
    threads: int
    max_queue: int


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
    processes: Processes
    log_files: tuple[str, ...]  # the log files the configuration opens (nginx's cycle->open_files)
    listening: tuple[ListeningSocket, ...]
    thread_pools: tuple[ThreadPool, ...]  # the pools `aio threads` may name, `default` among them if used
