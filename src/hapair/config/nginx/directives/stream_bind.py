"""The stream proxy's socket directives for upstream connections: `proxy_bind` (an address, or a value
with variables made per session; `off`) and `proxy_socket_keepalive` (ngx_stream_proxy_module.c)."""

from __future__ import annotations

import ipaddress

from ..context import Block, Directive, Handler, Reading
from ..model.addresses import InetAddress
from ..model.sockets import LocalAddress
from ..numbers import atoi
from ..stream_fields import PROXY_BIND, PROXY_SOCKET_KEEPALIVE
from ..urls import inet6_addr, inet_addr
from ..variables import compile_template, has_variables
from . import setters


def proxy_bind(block: Block, directive: Directive, reading: Reading) -> None:
    level = block.level()
    if level.here(PROXY_BIND) is not None:
        raise directive.invalid("is duplicate")
    text = directive.args[0]
    if len(directive.args) == 1 and text == "off":
        level.set(PROXY_BIND, None, directive.place)
        return
    if has_variables(text):
        assert block.stream is not None
        template = compile_template(text, block.stream.variables, directive.place, directive.place)
        local = LocalAddress(None, template)
    else:
        address = parse_addr_port(text)
        if address is None:
            raise directive.error(f'invalid address "{text}"')
        local = LocalAddress(address, text=text)
    if len(directive.args) > 1:
        if directive.args[1] != "transparent":
            raise directive.error(f'invalid parameter "{directive.args[1]}"')
        # nginx's workers keep CAP_NET_RAW for it after giving up root; hapair's do not
        raise directive.unsupported('"transparent"')
    level.set(PROXY_BIND, local, directive.place)


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


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_stream_proxy_module", "proxy_bind"): proxy_bind,
    ("ngx_stream_proxy_module", "proxy_socket_keepalive"): setters.flag(PROXY_SOCKET_KEEPALIVE),
}
