"""Who may make a request, and how many: the realip, access, auth_basic, limit_req and limit_conn modules'
settings at one level, the core's `satisfy`, and the zones `limit_req_zone` and `limit_conn_zone` declare.

Addresses are kept as nginx keeps them (ngx_cidr_t): a family, the address and its mask as integers, so
that the data plane matches a client with two integer operations.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from enum import Enum

from .logging import ErrorLevel
from .place import Place
from .templates import Template


@dataclass(frozen=True, slots=True)
class Cidr:
    """An address block (`10.0.0.0/8`, `::1`, `unix:`): `address` already masked, as nginx keeps it."""

    family: int  # socket.AF_INET, AF_INET6 or AF_UNIX
    address: int
    mask: int

    def matches(self, family: int, address: int) -> bool:
        """Whether a client of `family` at `address` is in the block (an IPv4-mapped IPv6 address is
        given as AF_INET by the caller, as nginx's ngx_cidr_match does)."""
        if family != self.family:
            return False
        return family == socket.AF_UNIX or address & self.mask == self.address


class RealIpSource(Enum):
    """Where `real_ip_header` takes the client's address from."""

    X_REAL_IP = "X-Real-IP"
    X_FORWARDED_FOR = "X-Forwarded-For"
    HEADER = "header"  # any other header, by its lower-case name
    PROXY_PROTOCOL = "proxy_protocol"  # the address of the connection's PROXY protocol header


@dataclass(frozen=True, slots=True)
class RealIp:
    """The realip module's settings: `trusted` is `set_real_ip_from` (empty: the module does nothing)."""

    trusted: tuple[Cidr, ...]
    source: RealIpSource
    header: str  # the lower-case header name for RealIpSource.HEADER
    recursive: bool


@dataclass(frozen=True, slots=True)
class AccessRule:
    """One `allow` or `deny`, in the lists of the families it applies to (`all` is in each)."""

    deny: bool
    cidr: Cidr


@dataclass(frozen=True, slots=True)
class AccessRules:
    """The `allow` and `deny` rules of a level, by family, each list in order (the first match decides)."""

    inet: tuple[AccessRule, ...]
    inet6: tuple[AccessRule, ...]
    unix: tuple[AccessRule, ...]


@dataclass(frozen=True, slots=True)
class AuthBasic:
    """`auth_basic` and `auth_basic_user_file`; the file's value is already made absolute from the
    configuration prefix, unless it starts with a variable (`relative_prefix` is then the prefix to put
    before a relative result, as nginx does at run time)."""

    realm: Template
    user_file: Template
    relative_prefix: str | None


@dataclass(frozen=True, slots=True)
class LimitReq:
    """One `limit_req`: the zone, and `burst`/`delay` in thousandths of a request (nginx's units)."""

    zone: str
    burst: int
    delay: int


@dataclass(frozen=True, slots=True)
class LimitConn:
    """One `limit_conn`: the zone and the number of connections a key may have at once."""

    zone: str
    connections: int


@dataclass(frozen=True, slots=True)
class LimitReqSettings:
    """The limit_req module's settings at a level (`limits` empty: none applies)."""

    limits: tuple[LimitReq, ...]
    log_level: ErrorLevel  # of a rejection; a delay is logged one level lower (info stays info)
    status: int
    dry_run: bool


@dataclass(frozen=True, slots=True)
class LimitConnSettings:
    """The limit_conn module's settings at a level (`limits` empty: none applies)."""

    limits: tuple[LimitConn, ...]
    log_level: ErrorLevel
    status: int
    dry_run: bool


class ZoneKind(Enum):
    LIMIT_REQ = "ngx_http_limit_req_module"
    LIMIT_CONN = "ngx_http_limit_conn_module"


@dataclass(frozen=True, slots=True)
class LimitZone:
    """A `limit_req_zone` or `limit_conn_zone`: a shared memory zone of `size` bytes holding the state of
    each value of `key`; `rate` (limit_req) in thousandths of a request per second."""

    name: str
    kind: ZoneKind
    size: int
    key: Template
    rate: int
    place: Place


@dataclass(frozen=True, slots=True)
class AuthRequest:
    """`auth_request` (the URI of the subrequest that decides) and the `auth_request_set` assignments of
    the level in force, each a variable's name and the value it takes from the subrequest."""

    uri: str
    assignments: tuple[tuple[str, Template], ...]


class Satisfy(Enum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Access:
    """What the post-read, pre-access and access phases do at a server or location."""

    realip: RealIp | None
    rules: AccessRules | None
    auth_basic: AuthBasic | None  # None also when either directive is missing (the module does nothing)
    auth_request: AuthRequest | None  # None: `auth_request off` or none
    satisfy: Satisfy
    limit_req: LimitReqSettings
    limit_conn: LimitConnSettings
