"""Listening sockets, opened as nginx's ngx_open_listening_sockets opens them, for the http and the stream
services alike."""

from __future__ import annotations

import socket

from hapair.config.nginx.model.addresses import SocketAddress


def listening_socket(
    address: SocketAddress, *, backlog: int, ipv6only: bool, reuse_port: bool
) -> socket.socket:
    """A non-blocking socket listening on `address`: SO_REUSEADDR, SO_REUSEPORT when `reuse_port` (one
    socket per worker process, or `listen ... reuseport`), IPV6_V6ONLY as `ipv6only` says."""
    sock = socket.socket(address.family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if address.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(ipv6only))
        sock.bind(address.sockaddr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
