"""The key a request balances on (`variables.balancing_key`): the `hash` template's value as the bytes
nginx hashes, the client's packed address for `ip_hash`, nothing for the other methods."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.templates import Literal, Template, Variable
from hapair.config.nginx.model.upstream import Balancing, Upstream
from hapair.proxy.balancer import Balancer
from tests.python_source import source_module

# as Python: the key is read from fake exchanges (tests/python_source.py)
variables = source_module("hapair.proxy.http.variables")
balancing_key = variables.balancing_key

PLACE = Place("test.conf", 1)


def exchange(balancing: Balancing, key: Template | None = None, *, query: str = "", address: bytes) -> Any:
    """The parts of an exchange the key reads: its upstream's balancer, its client's address (the
    request's, which realip may have changed), its query."""
    upstream = Upstream("u", (), balancing, None, False, PLACE, hash_key=key)
    return SimpleNamespace(
        target=SimpleNamespace(balancer=Balancer(upstream)),
        binary_remote_addr=address.decode("latin-1"),
        args=query,
        match=None,
    )


KEY = Template("é$arg_k", (Literal("é"), Variable("arg_k")))
IPV6 = bytes(range(16))


def test_ip_hash_balances_on_the_client_s_packed_address() -> None:
    assert [
        balancing_key(exchange(Balancing.IP_HASH, address=address))
        for address in (b"\x7f\x00\x00\x01", IPV6, b"")
    ] == [b"\x7f\x00\x00\x01", IPV6, b""]


def test_hash_balances_on_the_template_s_bytes() -> None:
    found = exchange(Balancing.CONSISTENT_HASH, KEY, query="k=v\xff", address=b"\x7f\x00\x00\x01")
    missing = exchange(Balancing.HASH, KEY, query="j=1", address=b"\x7f\x00\x00\x01")
    assert (balancing_key(found), balancing_key(missing)) == (b"\xc3\xa9v\xff", b"\xc3\xa9")


def test_other_methods_have_no_key() -> None:
    assert balancing_key(exchange(Balancing.RANDOM, address=b"\x7f\x00\x00\x01")) == b""


def test_a_value_not_from_the_wire_is_hashed_as_its_utf8_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(variables, "_HOSTNAME", "nœud")
    key = Template("$hostname", (Variable("hostname"),))
    assert balancing_key(exchange(Balancing.HASH, key, address=b"")) == "nœud".encode()
