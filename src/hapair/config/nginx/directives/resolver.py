"""`resolver` and `resolver_timeout` in http (ngx_http_core_module's, ngx_resolver_create): the name
servers (addresses, or names resolved now, port 53 by default), `valid=TIME` and `ipv6=on|off`, with
nginx's messages. A unix socket as a name server, which nginx accepts, is refused."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields import RESOLVER, RESOLVER_TIMEOUT
from ..model.addresses import InetAddress
from ..model.resolver import Resolver
from ..numbers import parse_time
from ..urls import UrlError, UrlRules, parse_url
from . import setters

_DNS_PORT = 53


def resolver(block: Block, directive: Directive, reading: Reading) -> None:
    level = block.level()
    if level.here(RESOLVER) is not None:
        raise directive.invalid("is duplicate")
    addresses: list[InetAddress] = []
    valid, ipv6 = 0, True
    for arg in directive.args:
        if arg.startswith("valid="):
            parsed = parse_time(arg[6:], seconds=True)
            if parsed is None:
                raise directive.error(f"invalid parameter: {arg}")
            valid = parsed
        elif arg.startswith("ipv6="):
            if arg[5:] not in ("on", "off"):
                raise directive.error(f"invalid parameter: {arg}")
            ipv6 = arg[5:] == "on"
        else:
            addresses += _name_server(directive, arg, block)
    if not addresses:
        raise directive.error("no name servers defined")
    level.set(RESOLVER, Resolver(tuple(addresses), valid, ipv6, directive.place), directive.place)


def _name_server(directive: Directive, text: str, block: Block) -> list[InetAddress]:
    try:
        url = parse_url(text, UrlRules(default_port=_DNS_PORT), block.main.system)
    except UrlError as exc:
        raise directive.error(f'{exc} in resolver "{text}"') from exc
    if url.unix:
        raise directive.unsupported("a unix socket")
    return [address for address in url.addresses if isinstance(address, InetAddress)]


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_core_module", "resolver"): resolver,
    ("ngx_http_core_module", "resolver_timeout"): setters.msec(RESOLVER_TIMEOUT),
}
