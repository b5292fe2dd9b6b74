"""What nginx does once the configuration is read (the rest of ngx_init_cycle), as `nginx -t` shows it:
the events module's connection count, the log files opened (created if missing), the sizes of the shared
memory zones, and with `-t` the listening sockets bound for a moment. nginx prints "syntax is ok" before
any of this."""

from __future__ import annotations

from .errors import ConfigError, os_error_text
from .state import DEFAULT_WORKER_CONNECTIONS, MainState
from .zones import check_sizes


def start(main: MainState, *, test: bool) -> None:
    _check_connections(main)
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
                main.system.try_bind(listening.address, listening.ipv6only)
            except OSError as exc:
                text = f"bind() to {listening.address.text} failed {os_error_text(exc)}"
                raise ConfigError(text, None, listening.origin) from exc


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
