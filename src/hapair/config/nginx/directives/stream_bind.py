"""The stream proxy's socket directives for upstream connections: `proxy_bind` (an address, or a value
with variables made per session; `off`) and `proxy_socket_keepalive` (ngx_stream_proxy_module.c)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..model.sockets import LocalAddress
from ..stream_fields import PROXY_BIND, PROXY_SOCKET_KEEPALIVE
from ..urls import parse_addr_port
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


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_stream_proxy_module", "proxy_bind"): proxy_bind,
    ("ngx_stream_proxy_module", "proxy_socket_keepalive"): setters.flag(PROXY_SOCKET_KEEPALIVE),
}
