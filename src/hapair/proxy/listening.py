"""Listening sockets, opened as nginx's ngx_open_listening_sockets opens them, for the http and the stream
services alike, with nginx's messages when they cannot be (`ListenError`).

A unix socket cannot be bound by each worker (there is no SO_REUSEPORT for them): the master binds it once
and `share`s it before it forks, and a worker's `listening_socket` for that path is a copy of the master's,
as every nginx worker listens on its master's sockets."""

from __future__ import annotations

import contextlib
import os
import socket

from hapair.config.nginx.model.addresses import SocketAddress, UnixAddress
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.model.sockets import NO_OPTIONS, SocketOptions

from .errorlog import to_main_log


class ListenError(OSError):
    """bind() or listen() failed: `str()` is nginx's message, `bind() to 127.0.0.1:80 failed (98: Address
    already in use)`."""

    def __init__(self, what: str, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror)
        self.what = what

    def __str__(self) -> str:
        return f"{self.what} failed ({self.errno}: {self.strerror})"


_SHARED: dict[str, socket.socket] = {}  # unix socket paths: the master's sockets, inherited by the workers


def share(sockets: dict[str, socket.socket]) -> None:
    """The unix sockets the processes forked from now on listen on (by path)."""
    _SHARED.clear()
    _SHARED.update(sockets)


def listening_socket(
    address: SocketAddress,
    *,
    backlog: int,
    ipv6only: bool,
    reuse_port: bool,
    udp: bool = False,
    options: SocketOptions = NO_OPTIONS,
) -> socket.socket:
    """A non-blocking socket listening on `address` (with `udp`, a datagram socket bound there): SO_REUSEADDR,
    SO_REUSEPORT when `reuse_port` (one socket per worker process, or `listen ... reuseport`), IPV6_V6ONLY as
    `ipv6only` says, then `options` as ngx_configure_listening_sockets sets them. A unix socket the master
    shares is a copy of the master's."""
    if isinstance(address, UnixAddress):
        shared = _SHARED.get(address.path)
        if shared is not None:
            return socket.socket(fileno=os.dup(shared.fileno()))
        reuse_port = False
    sock = _socket(address, ipv6only, reuse_port=reuse_port, udp=udp)
    try:
        _bind(sock, address)
        if not udp:
            try:
                sock.listen(backlog)
            except OSError as error:
                raise ListenError(f"listen() to {address.text}, backlog {backlog}", error) from error
        configure(sock, address, options)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def configure(sock: socket.socket, address: SocketAddress, options: SocketOptions) -> None:
    """The `listen` parameters' socket options. As nginx, one the system refuses is logged (`setsockopt(...)
    failed, ignored`) and the socket serves without it."""
    for level, name, value, text in _settings(options):
        try:
            sock.setsockopt(level, name, value)
        except OSError as error:
            to_main_log(
                ErrorLevel.ALERT,
                f"setsockopt({text}) {address.text} failed, ignored ({error.errno}: {error.strerror})",
            )


def _settings(options: SocketOptions) -> list[tuple[int, int, int, str]]:
    settings = []
    if options.rcvbuf is not None:
        settings.append((socket.SOL_SOCKET, socket.SO_RCVBUF, options.rcvbuf, f"SO_RCVBUF, {options.rcvbuf}"))
    if options.sndbuf is not None:
        settings.append((socket.SOL_SOCKET, socket.SO_SNDBUF, options.sndbuf, f"SO_SNDBUF, {options.sndbuf}"))
    keepalive = options.keepalive
    if keepalive is not None:
        settings.append(
            (socket.SOL_SOCKET, socket.SO_KEEPALIVE, int(keepalive.on), f"SO_KEEPALIVE, {int(keepalive.on)}")
        )
        for name, value, text in (
            (socket.TCP_KEEPIDLE, keepalive.idle, "TCP_KEEPIDLE"),
            (socket.TCP_KEEPINTVL, keepalive.interval, "TCP_KEEPINTVL"),
            (socket.TCP_KEEPCNT, keepalive.count, "TCP_KEEPCNT"),
        ):
            if value:
                settings.append((socket.IPPROTO_TCP, name, value, f"{text}, {value}"))
    if options.fastopen is not None:
        settings.append(
            (socket.IPPROTO_TCP, socket.TCP_FASTOPEN, options.fastopen, f"TCP_FASTOPEN, {options.fastopen}")
        )
    if options.deferred is not None:
        settings.append((socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, options.deferred, "TCP_DEFER_ACCEPT"))
    return settings


def try_bind(address: SocketAddress, ipv6only: bool, *, udp: bool = False) -> None:
    """Bind `address` for a moment without SO_REUSEPORT: raises ListenError where nginx's own bind()
    would fail, also when another process listens there with SO_REUSEPORT."""
    with _socket(address, ipv6only, reuse_port=False, udp=udp) as sock:
        _bind(sock, address)
    if isinstance(address, UnixAddress):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address.path)


def _socket(address: SocketAddress, ipv6only: bool, *, reuse_port: bool, udp: bool = False) -> socket.socket:
    sock = socket.socket(address.family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if address.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(ipv6only))
    except OSError:
        sock.close()
        raise
    return sock


def _bind(sock: socket.socket, address: SocketAddress) -> None:
    try:
        sock.bind(address.sockaddr)
    except OSError as error:
        raise ListenError(f"bind() to {address.text}", error) from error
