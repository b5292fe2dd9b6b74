"""What nginx does once the configuration is read (the rest of ngx_init_cycle), as `nginx -t` shows it.

`init_conf` is the core modules' init_conf, which `nginx -s` runs too: the workers' default user
(nobody:nogroup when the master runs as root), the `worker_cpu_affinity` mask count, the events module's
connection count. `open_cycle` is what only a start or `-t` does: the log files opened (created if
missing), the sizes of the shared memory zones, with `-t` the listening sockets bound for a moment, and
the open file limit compared with `worker_connections`. nginx prints "syntax is ok" before any of this.

Messages go where nginx writes them: `Startup.messages` to the log of the command line (`-e`), as the
reading's; `Startup.logged` to the configuration's main error log, which nginx has opened by then (a
`bind()` that fails, the open file limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ConfigError, Message, Severity, os_error_text
from .model.config import WorkerUser
from .state import (
    DEFAULT_POOL_THREADS,
    DEFAULT_THREAD_POOL,
    DEFAULT_WORKER_CONNECTIONS,
    THREAD_POOL_MAX_QUEUE,
    WORKER_RLIMIT_NOFILE,
    MainState,
)
from .zones import check_sizes

NGX_USER = "nobody"  # Debian's build: no --user, so nginx's defaults
NGX_GROUP = "nogroup"


class LoggedError(ConfigError):
    """An error nginx writes to the configuration's main error log rather than the command line's."""


@dataclass
class Startup:
    messages: list[Message] = field(default_factory=list)
    logged: list[Message] = field(default_factory=list)


def init_conf(main: MainState, startup: Startup) -> None:
    _check_affinity(main, startup)
    _default_user(main)
    _check_connections(main)
    _check_thread_pools(main)


def open_cycle(main: MainState, startup: Startup, *, test: bool) -> None:
    for opened in main.open_files:
        try:
            main.system.open_append(opened.path)
        except OSError as exc:
            raise ConfigError(
                f'open() "{opened.path}" failed {os_error_text(exc)}', None, opened.origin
            ) from exc
    check_sizes(main)
    if test:
        for listening in main.listening:
            try:
                main.system.try_bind(listening.address, listening.ipv6only, udp=listening.udp)
            except OSError as exc:
                text = f"bind() to {listening.address.text} failed {os_error_text(exc)}"
                raise LoggedError(text, None, listening.origin) from exc
    _check_open_file_limit(main, startup)


def _check_thread_pools(main: MainState) -> None:
    """ngx_thread_pool_init_conf: a pool `aio threads` names must be defined, but for `default`."""
    for name, (threads, _, place) in main.thread_pools.items():
        if threads:
            continue
        if name == DEFAULT_THREAD_POOL:
            main.thread_pools[name] = (DEFAULT_POOL_THREADS, THREAD_POOL_MAX_QUEUE, place)
            continue
        raise ConfigError(f'unknown thread pool "{name}" in {place}', None, place)


def _check_affinity(main: MainState, startup: Startup) -> None:
    affinity = main.cpu_affinity
    if affinity is None or affinity.value.auto:
        return
    masks = len(affinity.value.masks)
    workers = main.worker_processes.value if main.worker_processes is not None else 1
    if masks not in (1, workers):
        startup.messages.append(
            Message(
                Severity.WARN,
                'the number of "worker_processes" is not equal to the number of "worker_cpu_affinity" '
                "masks, using last mask for remaining worker processes",
            )
        )


def _default_user(main: MainState) -> None:
    """ngx_core_module_init_conf: a root master without `user` runs its workers as nobody:nogroup."""
    if main.user is not None:
        main.worker_user = main.user.value
        return
    if not main.system.is_root():
        return
    uid = main.system.user_id(NGX_USER)
    if uid is None:
        raise ConfigError(f'getpwnam("{NGX_USER}") failed', None)
    gid = main.system.group_id(NGX_GROUP)
    if gid is None:
        raise ConfigError(f'getgrnam("{NGX_GROUP}") failed', None)
    main.worker_user = WorkerUser(NGX_USER, uid, gid)


def _check_connections(main: MainState) -> None:
    """ngx_event_init_conf: a connection per listening socket, and one more."""
    setting = main.worker_connections
    connections = setting.value if setting is not None else DEFAULT_WORKER_CONNECTIONS
    sockets = len(main.listening)
    if connections < sockets + 1:
        raise ConfigError(
            f"{connections} worker_connections are not enough for {sockets} listening sockets",
            None,
            setting.place if setting is not None else None,
        )


def _check_open_file_limit(main: MainState, startup: Startup) -> None:
    """ngx_event_module_init: more connections than the workers may open files is worth a warning."""
    setting = main.worker_connections
    connections = setting.value if setting is not None else DEFAULT_WORKER_CONNECTIONS
    rlimit = main.level.value(WORKER_RLIMIT_NOFILE, None)
    current = main.system.open_file_limit()
    if connections > current and (rlimit is None or connections > rlimit):
        limit = current if rlimit is None else rlimit
        text = f"{connections} worker_connections exceed open file resource limit: {limit}"
        startup.logged.append(Message(Severity.WARN, text))
