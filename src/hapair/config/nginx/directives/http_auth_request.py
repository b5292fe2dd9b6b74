"""The auth_request module: `auth_request`, `auth_request_set` (ngx_http_auth_request_module.c)."""

from __future__ import annotations

from ..access_fields import AUTH_REQUEST, AUTH_REQUEST_SET
from ..context import Block, Directive, Handler, Reading
from ..variables import VariableUses, compile_template, configured_variable


def _uses(block: Block) -> VariableUses:
    assert block.http is not None
    return block.http.variables


def auth_request(block: Block, directive: Directive, reading: Reading) -> None:
    """The URI of the subrequest, or `off` (the empty URI, as nginx keeps it)."""
    level = block.level()
    if level.here(AUTH_REQUEST) is not None:
        raise directive.invalid("is duplicate")
    uri = directive.args[0]
    level.set(AUTH_REQUEST, "" if uri == "off" else uri, directive.place)


def auth_request_set(block: Block, directive: Directive, reading: Reading) -> None:
    """`$name value`: the variable is made (changeable, as ngx_http_add_variable makes it) and the value
    compiled; the assignments of one level are kept in order."""
    written, value = directive.args
    uses = _uses(block)
    name = configured_variable(directive, written, uses)
    template = compile_template(value, uses, directive.place, directive.place)
    level = block.level()
    here = level.here(AUTH_REQUEST_SET)
    earlier = here.value if here is not None else ()
    level.set(AUTH_REQUEST_SET, (*earlier, (name, template)), directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_auth_request_module", "auth_request"): auth_request,
    ("ngx_http_auth_request_module", "auth_request_set"): auth_request_set,
}
