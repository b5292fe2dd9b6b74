"""What reading a keepalived configuration needs to know about the machine it runs on.

keepalived checks interfaces, users, groups, scripts and their permissions while it reads. The reader asks
a `Host` for these, so tests hand it a `StaticHost` and the command line `hapair.net.host.LocalHost`.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

# The PATH a daemon started by systemd sees (what `StaticHost` searches for bare script names).
DEFAULT_SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    index: int
    loopback: bool = False
    up: bool = True
    mtu: int = 1500
    mac: str = "00:00:00:00:00:00"
    ipv4: tuple[str, ...] = ()  # "10.0.0.1/24", primary first
    ipv6: tuple[str, ...] = ()  # "fe80::1/64", link-local among them
    private_macvlan_of: int = 0  # a private-mode macvlan's base interface index (0: not one)


@dataclass(frozen=True, slots=True)
class User:
    name: str
    uid: int
    gid: int


@dataclass(frozen=True, slots=True)
class FileStatus:
    mode: int
    uid: int
    gid: int


class Host(Protocol):
    def interfaces(self) -> Mapping[str, Interface]: ...
    def user(self, name: str) -> User | None: ...
    def user_by_uid(self, uid: int) -> User | None: ...
    def group(self, name: str) -> int | None: ...
    def stat(self, path: str) -> FileStatus | None: ...
    def hostname(self) -> str: ...

    def lstat(self, path: str) -> FileStatus | None:
        """The status of `path` itself (a symbolic link is not followed); None if it cannot be read."""
        ...

    def readlink(self, path: str) -> str | None:
        """The target of the symbolic link `path`; None if it is not one."""
        ...

    def search_path(self) -> str:
        """keepalived's `PATH`: where bare script names are looked for."""
        ...

    def resolve(self, name: str) -> str | None:
        """The first address `getaddrinfo(name)` gives, as text; None if it does not resolve."""
        ...

    def canonical_name(self) -> str | None:
        """The canonical name of this host's node name (`getaddrinfo` with AI_CANONNAME)."""
        ...

    def cpu_count(self) -> int:
        """The number of online CPUs."""
        ...

    def read_text(self, path: str) -> str | None:
        """The contents of a system file (e.g. /etc/iproute2/rt_tables); None if it cannot be read."""
        ...

    def vrf_table(self, ifname: str) -> int | None:
        """The routing table of the VRF device `ifname`; None if it is not a VRF."""
        ...

    def network_namespace(self, name: str) -> Host | None:
        """The same host seen from inside the named network namespace (`net_namespace`); None if there is
        no such namespace."""
        ...

    def process_ids(self) -> tuple[int, int]:
        """The effective uid and gid hapair runs with (keepalived's `our_uid`/`our_gid`)."""
        ...


@dataclass
class StaticHost:
    """A host described in full by its fields: for tests, and to check a config for another machine."""

    interface_map: dict[str, Interface] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=lambda: {"root": User("root", 0, 0)})
    groups: dict[str, int] = field(default_factory=lambda: {"root": 0})
    files: dict[str, FileStatus] = field(default_factory=dict)
    name: str = "localhost"
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target
    path: str = DEFAULT_SEARCH_PATH
    addresses: dict[str, str] = field(default_factory=lambda: {"localhost": "127.0.0.1"})
    cpus: int = 1
    texts: dict[str, str] = field(default_factory=dict)  # path -> contents, for read_text
    vrf_tables: dict[str, int] = field(default_factory=dict)  # VRF device -> its routing table
    namespaces: dict[str, StaticHost] = field(default_factory=dict)  # network namespace name -> its view
    ids: tuple[int, int] = (0, 0)  # effective uid and gid

    def interfaces(self) -> Mapping[str, Interface]:
        return self.interface_map

    def user(self, name: str) -> User | None:
        return self.users.get(name)

    def user_by_uid(self, uid: int) -> User | None:
        return next((u for u in self.users.values() if u.uid == uid), None)

    def group(self, name: str) -> int | None:
        return self.groups.get(name)

    def stat(self, path: str) -> FileStatus | None:
        return self.files.get(path)

    def hostname(self) -> str:
        return self.name

    def lstat(self, path: str) -> FileStatus | None:
        """`files` entries (a mode without a file type is a regular file), `symlinks`, and root-owned
        0755 directories for "/" and every directory above an entry."""
        if path in self.files:
            status = self.files[path]
            return status if stat.S_IFMT(status.mode) else replace(status, mode=status.mode | stat.S_IFREG)
        if path in self.symlinks:
            return FileStatus(stat.S_IFLNK | 0o777, 0, 0)
        prefix = path.rstrip("/") + "/"
        if any(p.startswith(prefix) for p in (*self.files, *self.symlinks)):
            return FileStatus(stat.S_IFDIR | 0o755, 0, 0)
        return None

    def readlink(self, path: str) -> str | None:
        return self.symlinks.get(path)

    def search_path(self) -> str:
        return self.path

    def resolve(self, name: str) -> str | None:
        return self.addresses.get(name)

    def canonical_name(self) -> str | None:
        return self.name

    def cpu_count(self) -> int:
        return self.cpus

    def read_text(self, path: str) -> str | None:
        return self.texts.get(path)

    def vrf_table(self, ifname: str) -> int | None:
        return self.vrf_tables.get(ifname)

    def network_namespace(self, name: str) -> StaticHost | None:
        return self.namespaces.get(name)

    def process_ids(self) -> tuple[int, int]:
        return self.ids
