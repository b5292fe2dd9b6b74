"""Addresses as nginx parses them (ngx_parse_url and its helpers in ngx_inet.c): `listen` arguments,
upstream `server` addresses, `proxy_pass` URLs. Errors carry nginx's `u->err` text."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .model.addresses import InetAddress, SocketAddress, UnixAddress
from .numbers import atoi
from .system import HostNotFoundError, System

MAX_PORT = 65535
UNIX_PATH_MAX = 108  # sizeof(sun_path)


class UrlError(Exception):
    """nginx's `u->err`: "invalid host", "invalid port", "no host", "host not found"..."""


@dataclass
class Url:
    """What ngx_parse_url found (ngx_url_t)."""

    host: str = ""
    port: int = 0
    last_port: int = 0  # the end of a `listen` port range
    no_port: bool = False
    uri: str = ""
    has_uri: bool = False
    unix: bool = False
    addresses: list[SocketAddress] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UrlRules:
    """ngx_url_t's flags: how the text is read."""

    listen: bool = False
    uri_part: bool = False
    no_resolve: bool = False
    default_port: int = 0


def parse_url(text: str, rules: UrlRules, system: System) -> Url:
    if text[:5].lower() == "unix:":
        return _parse_unix(text, rules)
    if text.startswith("["):
        return _parse_inet6(text, rules)
    return _parse_inet(text, rules, system)


def _parse_unix(text: str, rules: UrlRules) -> Url:
    path = text[5:]
    url = Url(unix=True)
    if rules.uri_part and ":" in path:
        path, url.uri = path.split(":", 1)
        url.has_uri = True
    if not path:
        raise UrlError("no path in the unix domain socket")
    if len(path.encode("utf-8", "surrogateescape")) + 1 > UNIX_PATH_MAX:
        raise UrlError("too long path in the unix domain socket")
    url.host = path
    url.addresses = [UnixAddress(path)]
    return url


def _parse_inet(text: str, rules: UrlRules, system: System) -> Url:
    url = Url()
    host_end = len(text)
    uri = _first_of(text, "/?")
    port = text.find(":")
    if uri >= 0:
        if rules.listen or not rules.uri_part:
            raise UrlError("invalid host")
        url.uri, url.has_uri = text[uri:], True
        host_end = uri
        if uri < port:
            port = -1
    if port >= 0:
        _read_port(url, text[port + 1 : host_end], rules.listen)
        host_end = port
    elif uri < 0 and rules.listen and _port_only(url, text):
        url.addresses = _with_ports(url, ipaddress.IPv4Address(0))
        return url
    else:
        url.no_port = True
        url.port = rules.default_port
        url.last_port = 0
    host = text[:host_end]
    if not host:
        raise UrlError("no host")
    url.host = host
    if rules.listen and host == "*":
        url.addresses = _with_ports(url, ipaddress.IPv4Address(0))
        return url
    ip = inet_addr(host)
    if ip is not None:
        url.addresses = _with_ports(url, ip)
    elif not rules.no_resolve:
        url.addresses = _resolved(url, system)
    return url


def _first_of(text: str, chars: str) -> int:
    found = [i for i in (text.find(ch) for ch in chars) if i >= 0]
    return min(found) if found else -1


def _read_port(url: Url, text: str, listen: bool) -> None:
    """`port` or, for `listen`, `port-last`."""
    first = text
    if listen and "-" in text:
        first, last = text.split("-", 1)
        url.last_port = _valid_port(atoi(last))
    url.port = _valid_port(atoi(first))
    if url.last_port and url.port > url.last_port:
        raise UrlError("invalid port range")


def _valid_port(value: int | None) -> int:
    if value is None or not 1 <= value <= MAX_PORT:
        raise UrlError("invalid port")
    return value


def _port_only(url: Url, text: str) -> bool:
    """`listen 8080` (or `8080-8089`): True when the whole text is a port."""
    first = text
    pending: str | None = None
    if "-" in text:
        first, last = text.split("-", 1)
        value = atoi(last)
        if value is None:
            return False
        if 1 <= value <= MAX_PORT:
            url.last_port = value
        else:
            pending = "invalid port"
    value = atoi(first)
    if value is None:
        url.last_port = 0
        return False
    if pending is not None:
        raise UrlError(pending)
    url.port = _valid_port(value)
    if url.last_port and url.port > url.last_port:
        raise UrlError("invalid port range")
    return True


def _with_ports(url: Url, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[SocketAddress]:
    """ngx_inet_add_addr: one address per port of the range."""
    last = url.last_port or url.port
    return [InetAddress(ip, port) for port in range(url.port, last + 1)]


def _resolved(url: Url, system: System) -> list[SocketAddress]:
    try:
        ips = system.resolve(url.host)
    except HostNotFoundError as exc:
        raise UrlError("host not found") from exc
    return [address for ip in ips for address in _with_ports(url, ip)]


def _parse_inet6(text: str, rules: UrlRules) -> Url:
    url = Url()
    close = text.find("]")
    if close < 0:
        raise UrlError("invalid host")
    rest = text[close + 1 :]
    uri = rest.find("/")
    if uri >= 0:
        if rules.listen or not rules.uri_part:
            raise UrlError("invalid host")
        url.uri, url.has_uri = rest[uri:], True
        rest = rest[:uri]
    if rest:
        if not rest.startswith(":"):
            raise UrlError("invalid host")
        _read_port(url, rest[1:], rules.listen)
    else:
        url.no_port = True
        url.port = rules.default_port
    inner = text[1:close]
    if not inner:
        raise UrlError("no host")
    url.host = text[: close + 1]
    ip = inet6_addr(inner)
    if ip is None:
        raise UrlError("invalid IPv6 address")
    url.addresses = _with_ports(url, ip)
    return url


def inet_addr(text: str) -> ipaddress.IPv4Address | None:
    """ngx_inet_addr: four dot-separated decimal octets (empty ones count as 0); 255.255.255.255 is
    nginx's INADDR_NONE, so it is not an address."""
    value = octet = dots = 0
    for ch in text:
        if "0" <= ch <= "9":
            octet = octet * 10 + ord(ch) - ord("0")
            if octet > 255:
                return None
        elif ch == ".":
            value = (value << 8) + octet
            octet = 0
            dots += 1
        else:
            return None
    if dots != 3:
        return None
    value = ((value << 8) + octet) & 0xFFFFFFFF
    if value == 0xFFFFFFFF:
        return None
    return ipaddress.IPv4Address(value)


def inet6_addr(text: str) -> ipaddress.IPv6Address | None:
    if "%" in text:
        return None
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        return None


def parse_addr_port(text: str) -> InetAddress | None:
    """ngx_parse_addr_port: `addr`, `addr:port` or `[v6]:port` (port 0 when none is given)."""
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = inet_addr(text) or inet6_addr(text)
    if ip is not None:
        return InetAddress(ip, 0)
    if text.startswith("["):
        close = text.find("]")
        if close < 0 or text[close + 1 : close + 2] != ":":
            return None
        host, port_text = text[1:close], text[close + 2 :]
    else:
        host, colon, port_text = text.partition(":")
        if not colon:
            return None
    port = atoi(port_text)
    if port is None or not 1 <= port <= 65535:
        return None
    ip = inet_addr(host) or inet6_addr(host)
    return None if ip is None else InetAddress(ip, port)
