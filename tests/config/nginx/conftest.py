"""Shared fixtures: configurations written under tmp_path and read there, on a described machine, with
certificates made for the session."""

from __future__ import annotations

import errno
import ipaddress
import os
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hapair.config.nginx.load import LoadResult, load
from hapair.config.nginx.model.addresses import IpAddress, SocketAddress
from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.http import HttpConfig, Location, Server
from hapair.config.nginx.model.stream import StreamConfig
from hapair.config.nginx.system import HostNotFoundError, LocalSystem
from tests.certificates import self_signed

LAB_HOSTS = {
    "localhost": ["127.0.0.1", "::1"],
    "backend.example": ["192.0.2.10", "192.0.2.11"],
    "k8s-api.example": ["192.0.2.20"],
}

LAB_USERS = {"nobody": 65534, "daemon": 1, "www-data": 33}  # Debian's, which has no group "nobody"
LAB_GROUPS = {"nogroup": 65534, "daemon": 1, "adm": 4, "www-data": 33}


@dataclass
class LabSystem(LocalSystem):
    """A machine with known names, users and groups, 4 CPUs, running as root; log files and sockets are
    recorded, not opened, unless a test names some that fail."""

    hosts: dict[str, list[str]] = field(default_factory=lambda: dict(LAB_HOSTS))
    root: bool = True
    users: dict[str, int] = field(default_factory=lambda: dict(LAB_USERS))
    groups: dict[str, int] = field(default_factory=lambda: dict(LAB_GROUPS))
    file_limit: int = 1 << 20
    opened: list[str] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)
    unwritable: set[str] = field(default_factory=set)

    def resolve(self, host: str) -> list[IpAddress]:
        if host not in self.hosts:
            raise HostNotFoundError(host)
        return [ipaddress.ip_address(ip) for ip in self.hosts[host]]

    def cpu_count(self) -> int:
        return 4

    def is_root(self) -> bool:
        return self.root

    def hostname(self) -> str:
        return "Node1.Example"

    def user_id(self, name: str) -> int | None:
        return self.users.get(name)

    def group_id(self, name: str) -> int | None:
        return self.groups.get(name)

    def open_file_limit(self) -> int:
        return self.file_limit

    def open_append(self, path: str) -> None:
        if path in self.unwritable:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        self.opened.append(path)

    def try_bind(self, address: SocketAddress, ipv6only: bool, *, udp: bool = False) -> None:
        self.bound.append(address.text)


Read = Callable[..., LoadResult]


@pytest.fixture
def conf_dir(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.fixture
def read(conf_dir: Path) -> Read:
    """`read(text, name="nginx.conf", files={name: text}, system=LabSystem(), test=False)`: write the
    (dedented) files under tmp_path and read `name` with tmp_path as the prefix."""

    def read_config(
        text: str,
        *,
        name: str = "nginx.conf",
        files: dict[str, str] | None = None,
        system: LocalSystem | None = None,
        test: bool = False,
    ) -> LoadResult:
        for file_name, content in (files or {}).items():
            target = conf_dir / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(content))
        (conf_dir / name).write_text(textwrap.dedent(text))
        return load(name, f"{conf_dir}/", system or LabSystem(), test=test)

    return read_config


def config(result: LoadResult) -> NginxConfig:
    assert result.error is None, result.error
    assert result.config is not None
    return result.config


def http(result: LoadResult) -> HttpConfig:
    model = config(result).http
    assert model is not None
    return model


def stream(result: LoadResult) -> StreamConfig:
    model = config(result).stream
    assert model is not None
    return model


def server(result: LoadResult, index: int = 0) -> Server:
    return http(result).servers[index]


def location(result: LoadResult, server_index: int = 0, index: int = 0) -> Location:
    return server(result, server_index).locations[index]


def error(result: LoadResult) -> str:
    """The error as nginx prints it."""
    assert result.error is not None, "the configuration was accepted"
    return result.error.message.render()


@dataclass(frozen=True)
class Pair:
    certificate: Path
    key: Path


@dataclass(frozen=True)
class Certificates:
    server: Pair
    client: Pair
    other_key: Path  # a key that belongs to neither certificate
    junk: Path  # a file with no PEM data


def _make_pair(directory: Path, name: str) -> Pair:
    return Pair(*self_signed(directory, name))


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    directory = tmp_path_factory.mktemp("certificates")
    junk = directory / "junk.pem"
    junk.write_text("not a certificate\n")
    return Certificates(
        server=_make_pair(directory, "k8sapiserver"),
        client=_make_pair(directory, "k8sapiclient"),
        other_key=_make_pair(directory, "other").key,
        junk=junk,
    )
