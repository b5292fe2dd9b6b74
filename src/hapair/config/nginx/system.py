"""What reading a configuration asks of the machine, as nginx asks it while it starts or runs `-t`:
names resolved (upstream servers and implicit upstreams are resolved once, when the configuration is read),
the number of CPUs (`worker_processes auto`), whether it runs as root (the default `listen` port, `user`),
users and groups by name, the open file limit, and the files and sockets `-t` opens. Tests replace it."""

from __future__ import annotations

import errno
import grp
import ipaddress
import os
import pwd
import resource
import socket
import sys
from typing import Protocol

from .model.addresses import IpAddress, SocketAddress, UnixAddress


class HostNotFoundError(Exception):
    """getaddrinfo found no IPv4 or IPv6 address: nginx's `host not found`."""


class System(Protocol):
    def resolve(self, host: str) -> list[IpAddress]:
        """The addresses of `host`, in getaddrinfo's order (AF_UNSPEC, SOCK_STREAM, AI_ADDRCONFIG)."""

    def cpu_count(self) -> int: ...

    def is_root(self) -> bool: ...

    def hostname(self) -> str: ...

    def user_id(self, name: str) -> int | None:
        """The uid of user `name` (getpwnam), None when there is none."""

    def group_id(self, name: str) -> int | None:
        """The gid of group `name` (getgrnam), None when there is none."""

    def open_file_limit(self) -> int:
        """The soft RLIMIT_NOFILE (sys.maxsize when there is none)."""

    def open_append(self, path: str) -> None:
        """Open (creating it) and close `path` as nginx opens a log file; raises OSError."""

    def try_bind(self, address: SocketAddress, ipv6only: bool, *, udp: bool = False) -> None:
        """Bind a listening socket (a datagram one when `udp`) for a moment, as `nginx -t` does; raises
        OSError except for EADDRINUSE, which `nginx -t` ignores."""


class LocalSystem:
    """This machine."""

    def resolve(self, host: str) -> list[IpAddress]:
        try:
            infos = socket.getaddrinfo(
                host, None, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_ADDRCONFIG
            )
        except (OSError, UnicodeError) as exc:
            raise HostNotFoundError(host) from exc
        addresses = [
            ipaddress.ip_address(str(info[4][0]))
            for info in infos
            if info[0] in (socket.AF_INET, socket.AF_INET6)
        ]
        if not addresses:
            raise HostNotFoundError(host)
        return addresses

    def cpu_count(self) -> int:
        return os.cpu_count() or 1

    def is_root(self) -> bool:
        return os.getuid() == 0

    def hostname(self) -> str:
        return socket.gethostname()

    def user_id(self, name: str) -> int | None:
        try:
            return pwd.getpwnam(name).pw_uid
        except KeyError:
            return None

    def group_id(self, name: str) -> int | None:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    def open_file_limit(self) -> int:
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        return sys.maxsize if soft == resource.RLIM_INFINITY else soft

    def open_append(self, path: str) -> None:
        os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644))

    def try_bind(self, address: SocketAddress, ipv6only: bool, *, udp: bool = False) -> None:
        with socket.socket(address.family, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as sock:
            if not udp:  # nginx -t binds a datagram socket without SO_REUSEADDR
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if address.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(ipv6only))
            try:
                sock.bind(address.sockaddr)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                return
            if isinstance(address, UnixAddress):
                os.unlink(address.path)  # as nginx -t does with the unix socket it made
