"""Shared fixtures: read a configuration written to a temporary directory, on a described host."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from hapair.config.keepalived.host import Interface, StaticHost
from hapair.config.keepalived.load import LoadResult, load


def lab_host(**overrides: object) -> StaticHost:
    """A host like the namespaces keepalived's recorded -t runs used: eth0..eth3, eth0 10.77.0.1/24."""
    interfaces = {"lo": Interface("lo", 1, loopback=True, ipv4=("127.0.0.1/8",), ipv6=("::1/128",))}
    for i in range(4):
        interfaces[f"eth{i}"] = Interface(f"eth{i}", i + 2, ipv6=(f"fe80::{i + 1}/64",))
    interfaces["eth0"] = Interface("eth0", 2, ipv4=("10.77.0.1/24",), ipv6=("fe80::1/64",))
    host = StaticHost(interface_map=interfaces, name="node1.example")
    for key, value in overrides.items():
        setattr(host, key, value)
    return host


ReadConfig = Callable[..., LoadResult]


@pytest.fixture
def read_config(tmp_path: Path) -> ReadConfig:
    """`read_config(text, host=None, config_id=None, files={name: text})`: write `keepalived.conf` (and any
    extra files) under tmp_path and read it there; the text is dedented."""

    def read(
        text: str,
        *,
        host: StaticHost | None = None,
        config_id: str | None = None,
        files: dict[str, str] | None = None,
        config_test: bool = True,
    ) -> LoadResult:
        for name, content in (files or {}).items():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(content))
        (tmp_path / "keepalived.conf").write_text(textwrap.dedent(text))
        return load(
            "keepalived.conf",
            host or lab_host(),
            config_id=config_id,
            config_test=config_test,
            cwd=str(tmp_path),
        )

    return read


def rendered(result: LoadResult) -> list[str]:
    """Every message as `-t` prints it."""
    return [d.render() for d in result.report]


def errors(result: LoadResult) -> list[str]:
    """The messages keepalived's own `-t` would print (not the log-only ones), without their place."""
    return [d.message for d in result.report if not d.log]
