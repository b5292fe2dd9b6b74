"""The realip module: `set_real_ip_from`, `real_ip_header`, `real_ip_recursive`
(ngx_http_realip_module.c), with nginx's checks and messages."""

from __future__ import annotations

import socket

from ..access_fields import REAL_IP_HEADER, REAL_IP_RECURSIVE, SET_REAL_IP_FROM, RealIpHeader
from ..cidr import UNIX, parse_cidr
from ..context import Block, Directive, Handler, Reading
from ..model.access import Cidr, RealIpSource
from ..system import HostNotFoundError
from . import setters

_NAMED_SOURCES = {
    "X-Real-IP": RealIpSource.X_REAL_IP,
    "X-Forwarded-For": RealIpSource.X_FORWARDED_FOR,
    "proxy_protocol": RealIpSource.PROXY_PROTOCOL,
}


def set_real_ip_from(block: Block, directive: Directive, reading: Reading) -> None:
    """An address, a block, `unix:` or a host name (each of its addresses), added to the level's list."""
    text = directive.args[0]
    if text == "unix:":
        trusted: tuple[Cidr, ...] = (UNIX,)
    else:
        trusted = _addresses(block, directive, reading, text)
    level = block.level()
    here = level.here(SET_REAL_IP_FROM)
    before = here.value if here is not None else ()
    level.set(SET_REAL_IP_FROM, (*before, *trusted), here.place if here is not None else directive.place)


def _addresses(block: Block, directive: Directive, reading: Reading, text: str) -> tuple[Cidr, ...]:
    parsed = parse_cidr(text)
    if parsed is not None:
        if parsed.meaningless:
            reading.warn(f"low address bits of {text} are meaningless", directive.place)
        return (parsed.cidr,)
    try:
        addresses = block.main.system.resolve(text)
    except HostNotFoundError as exc:
        raise directive.error(f'host not found in set_real_ip_from "{text}"') from exc
    return tuple(
        Cidr(socket.AF_INET, int(ip), 2**32 - 1)
        if ip.version == 4
        else Cidr(socket.AF_INET6, int(ip), 2**128 - 1)
        for ip in addresses
    )


def real_ip_header(block: Block, directive: Directive, reading: Reading) -> None:
    """`X-Real-IP` and `X-Forwarded-For` as written (case matters); any other name is a header, found
    without regard to case."""
    level = block.level()
    if level.here(REAL_IP_HEADER) is not None:
        raise directive.invalid("is duplicate")
    name = directive.args[0]
    source = _NAMED_SOURCES.get(name, RealIpSource.HEADER)
    header = name.lower() if source is RealIpSource.HEADER else ""
    level.set(REAL_IP_HEADER, RealIpHeader(source, header), directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_realip_module", "set_real_ip_from"): set_real_ip_from,
    ("ngx_http_realip_module", "real_ip_header"): real_ip_header,
    ("ngx_http_realip_module", "real_ip_recursive"): setters.flag(REAL_IP_RECURSIVE),
}
