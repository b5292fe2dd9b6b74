"""The socket parameters of `listen` that http and stream read alike (ngx_http_core_listen,
ngx_stream_core_listen): `rcvbuf=`, `sndbuf=`, `so_keepalive=`, `fastopen=`, with nginx's messages."""

from __future__ import annotations

from dataclasses import replace

from .context import Directive
from .model.sockets import KeepAlive, SocketOptions
from .numbers import atoi, parse_size, parse_time


def socket_parameter(directive: Directive, arg: str, options: SocketOptions) -> SocketOptions | None:
    """`options` with what `arg` sets, or None when `arg` is none of these parameters."""
    if arg.startswith("rcvbuf="):
        return replace(options, rcvbuf=_size(directive, arg, "rcvbuf"))
    if arg.startswith("sndbuf="):
        return replace(options, sndbuf=_size(directive, arg, "sndbuf"))
    if arg.startswith("fastopen="):
        fastopen = atoi(arg[9:])
        if fastopen is None:
            raise directive.error(f'invalid fastopen "{arg}"')
        return replace(options, fastopen=fastopen)
    if arg.startswith("so_keepalive="):
        return replace(options, keepalive=_keepalive(directive, arg[13:]))
    return None


def _size(directive: Directive, arg: str, name: str) -> int:
    size = parse_size(arg[len(name) + 1 :])
    if size is None:
        raise directive.error(f'invalid {name} "{arg}"')
    return size


def _keepalive(directive: Directive, value: str) -> KeepAlive:
    """`on`, `off`, or `[idle]:[interval]:[count]` (times in seconds, at least one of the three)."""
    if value == "on":
        return KeepAlive(True)
    if value == "off":
        return KeepAlive(False)
    idle_text, _, rest = value.partition(":")
    interval_text, _, count_text = rest.partition(":")
    idle = parse_time(idle_text, seconds=True) if idle_text else 0
    interval = parse_time(interval_text, seconds=True) if interval_text else 0
    count = atoi(count_text) if count_text else 0
    if idle is None or interval is None or count is None or not (idle or interval or count):
        raise directive.error(f'invalid so_keepalive value: "{value}"')
    return KeepAlive(True, idle, interval, count)
