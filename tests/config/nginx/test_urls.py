"""Addresses as ngx_parse_url reads them for `listen`, upstream `server` and `proxy_pass`."""

from __future__ import annotations

import ipaddress

import pytest

from hapair.config.nginx.model.addresses import InetAddress, UnixAddress, ipv6_text
from hapair.config.nginx.urls import UrlError, UrlRules, inet_addr, parse_url

from .conftest import LabSystem

LISTEN = UrlRules(listen=True, default_port=80)
PROXY = UrlRules(uri_part=True, no_resolve=True, default_port=80)


def texts(text: str, rules: UrlRules) -> list[str]:
    return [address.text for address in parse_url(text, rules, LabSystem()).addresses]


def url_error(text: str, rules: UrlRules) -> str:
    with pytest.raises(UrlError) as caught:
        parse_url(text, rules, LabSystem())
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        ("8080", ["0.0.0.0:8080"]),
        ("*:8080", ["0.0.0.0:8080"]),
        ("10.0.0.1:8443", ["10.0.0.1:8443"]),
        ("10.0.0.1", ["10.0.0.1:80"]),
        ("[::]:8080", ["[::]:8080"]),
        ("[::1]", ["[::1]:80"]),
        ("8000-8002", ["0.0.0.0:8000", "0.0.0.0:8001", "0.0.0.0:8002"]),
        ("localhost:81", ["127.0.0.1:81", "[::1]:81"]),
        ("unix:/run/lb.sock", ["unix:/run/lb.sock"]),
    ],
)
def test_listen_addresses(text: str, addresses: list[str]) -> None:
    assert texts(text, LISTEN) == addresses


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("0", "invalid port"),
        ("70000", "invalid port"),
        ("8082-8081", "invalid port range"),
        (":80", "no host"),
        ("a/b", "invalid host"),
        ("[::1", "invalid host"),
        ("[::1]x", "invalid host"),
        ("[zz]:80", "invalid IPv6 address"),
        ("nowhere.invalid:80", "host not found"),
        ("unix:", "no path in the unix domain socket"),
        ("unix:/" + "x" * 200, "too long path in the unix domain socket"),
    ],
)
def test_listen_errors_are_nginx_words(text: str, error: str) -> None:
    assert url_error(text, LISTEN) == error


def test_a_proxy_url_keeps_its_uri_and_host_unresolved() -> None:
    url = parse_url("backend.example:8080/api?x=1", PROXY, LabSystem())
    assert (url.host, url.port, url.uri, url.addresses) == ("backend.example", 8080, "/api?x=1", [])


def test_a_proxy_url_without_port_takes_the_default_port() -> None:
    url = parse_url("backend.example", PROXY, LabSystem())
    assert (url.port, url.no_port, url.has_uri) == (80, True, False)


def test_a_proxy_url_with_an_ip_has_its_address() -> None:
    url = parse_url("192.0.2.1:8443", PROXY, LabSystem())
    assert url.addresses == [InetAddress(ipaddress.ip_address("192.0.2.1"), 8443)]


def test_a_unix_proxy_url_splits_the_uri_at_the_colon() -> None:
    url = parse_url("unix:/run/app.sock:/api", PROXY, LabSystem())
    assert (url.addresses, url.uri) == ([UnixAddress("/run/app.sock")], "/api")


def test_an_upstream_server_name_is_resolved_to_every_address() -> None:
    assert texts("backend.example:9000", UrlRules(default_port=80)) == ["192.0.2.10:9000", "192.0.2.11:9000"]


@pytest.mark.parametrize(
    ("text", "ip"),
    [("1.2.3.4", "1.2.3.4"), ("01.2.3.4", "1.2.3.4"), ("1..2.3", "1.0.2.3"), ("1.2.3.", "1.2.3.0")],
)
def test_inet_addr_reads_four_octets_as_nginx_does(text: str, ip: str) -> None:
    assert inet_addr(text) == ipaddress.IPv4Address(ip)


@pytest.mark.parametrize("text", ["1.2.3", "1.2.3.4.5", "256.1.1.1", "a.b.c.d", "255.255.255.255"])
def test_inet_addr_refuses_what_nginx_refuses(text: str) -> None:
    assert inet_addr(text) is None


@pytest.mark.parametrize(
    ("ip", "text"),
    [
        ("::", "::"),
        ("::1", "::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
    ],
)
def test_ipv6_addresses_are_written_as_nginx_writes_them(ip: str, text: str) -> None:
    assert ipv6_text(ipaddress.IPv6Address(ip)) == text
