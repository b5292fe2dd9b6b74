"""The machine hapair runs on, as the configuration reader sees it."""

from __future__ import annotations

import grp
import os
import pwd
import socket
from collections.abc import Mapping

from hapair.config.keepalived.host import FileStatus, Interface, User

from .interface_table import NETNS_DIR, InterfaceTable, read_interface_table


class LocalHost:
    """This machine: interfaces over netlink (in the current network namespace, or in `netns`), read once,
    users from NSS."""

    def __init__(self, netns: str | None = None) -> None:
        self._netns = netns
        self._table: InterfaceTable | None = None

    def _interface_table(self) -> InterfaceTable:
        if self._table is None:
            self._table = read_interface_table(self._netns)
        return self._table

    def interfaces(self) -> Mapping[str, Interface]:
        return self._interface_table().interfaces

    def network_namespace(self, name: str) -> LocalHost | None:
        if not os.path.isfile(os.path.join(NETNS_DIR, name)):
            return None
        return LocalHost(name)

    def process_ids(self) -> tuple[int, int]:
        return os.geteuid(), os.getegid()

    def user(self, name: str) -> User | None:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        return User(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def user_by_uid(self, uid: int) -> User | None:
        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return None
        return User(entry.pw_name, entry.pw_uid, entry.pw_gid)

    def group(self, name: str) -> int | None:
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            return None

    def stat(self, path: str) -> FileStatus | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return FileStatus(st.st_mode, st.st_uid, st.st_gid)

    def hostname(self) -> str:
        return socket.gethostname()

    def lstat(self, path: str) -> FileStatus | None:
        try:
            st = os.lstat(path)
        except OSError:
            return None
        return FileStatus(st.st_mode, st.st_uid, st.st_gid)

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(path)
        except OSError:
            return None

    def search_path(self) -> str:
        return os.environ.get("PATH") or os.confstr("CS_PATH") or ""

    def resolve(self, name: str) -> str | None:
        try:
            return str(socket.getaddrinfo(name, None)[0][4][0])
        except (OSError, ValueError, IndexError):
            return None

    def canonical_name(self) -> str | None:
        """The node name goes to getaddrinfo as its bytes, as keepalived passes it (a str would be encoded
        with the idna codec, which imports unicodedata: 0.2 MB of the VRRP daemon's memory)."""
        try:
            node = os.uname().nodename.encode("utf-8", "surrogateescape")
            return socket.getaddrinfo(node, None, flags=socket.AI_CANONNAME)[0][3] or None
        except (OSError, ValueError, IndexError):
            return None

    def cpu_count(self) -> int:
        return os.sysconf("SC_NPROCESSORS_ONLN")

    def read_text(self, path: str) -> str | None:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as file:
                return file.read()
        except OSError:
            return None

    def vrf_table(self, ifname: str) -> int | None:
        return self._interface_table().vrf_tables.get(ifname)
