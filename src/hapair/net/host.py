"""The machine hapair runs on, as the configuration reader sees it."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
from collections.abc import Mapping

from hapair.config.keepalived.host import FileStatus, Interface, User

from .interfaces import list_interfaces


class LocalHost:
    """This machine: interfaces over netlink (in the current network namespace), users from NSS."""

    def __init__(self) -> None:
        self._interfaces: dict[str, Interface] | None = None

    def interfaces(self) -> Mapping[str, Interface]:
        if self._interfaces is None:
            self._interfaces = {i.name: i for i in list_interfaces()}
        return self._interfaces

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

    def which(self, program: str) -> str | None:
        if "/" in program:
            return program if os.path.exists(program) else None
        return shutil.which(program)

    def hostname(self) -> str:
        return socket.gethostname()
