"""What reading a keepalived configuration needs to know about the machine it runs on.

keepalived checks interfaces, users, groups, scripts and their permissions while it reads. The reader asks
a `Host` for these, so tests hand it a `StaticHost` and the command line `hapair.net.host.LocalHost`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


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
    def which(self, program: str) -> str | None: ...
    def hostname(self) -> str: ...


@dataclass
class StaticHost:
    """A host described in full by its fields: for tests, and to check a config for another machine."""

    interface_map: dict[str, Interface] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=lambda: {"root": User("root", 0, 0)})
    groups: dict[str, int] = field(default_factory=lambda: {"root": 0})
    files: dict[str, FileStatus] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)
    name: str = "localhost"

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

    def which(self, program: str) -> str | None:
        if "/" in program:
            return program if program in self.files else None
        return self.programs.get(program)

    def hostname(self) -> str:
        return self.name
