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
    address: SocketAddress, *, backlog: int, ipv6only: bool, reuse_port: bool
) -> socket.socket:
    """A non-blocking socket listening on `address`: SO_REUSEADDR, SO_REUSEPORT when `reuse_port` (one
    socket per worker process, or `listen ... reuseport`), IPV6_V6ONLY as `ipv6only` says. A unix socket
    the master shares is a copy of the master's."""
    if isinstance(address, UnixAddress):
        shared = _SHARED.get(address.path)
        if shared is not None:
            return socket.socket(fileno=os.dup(shared.fileno()))
        reuse_port = False
    sock = _socket(address, ipv6only, reuse_port=reuse_port)
    try:
        _bind(sock, address)
        try:
            sock.listen(backlog)
        except OSError as error:
            raise ListenError(f"listen() to {address.text}, backlog {backlog}", error) from error
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def try_bind(address: SocketAddress, ipv6only: bool) -> None:
    """Bind `address` for a moment without SO_REUSEPORT: raises ListenError where nginx's own bind()
    would fail, also when another process listens there with SO_REUSEPORT."""
    with _socket(address, ipv6only, reuse_port=False) as sock:
        _bind(sock, address)
    if isinstance(address, UnixAddress):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address.path)


def _socket(address: SocketAddress, ipv6only: bool, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(address.family, socket.SOCK_STREAM)
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
