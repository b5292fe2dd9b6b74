"""The headers module's `expires`, `add_header` and `add_trailer` (ngx_http_headers_filter_module.c).
Each `add_header` (`add_trailer`) of a level adds to that level's list; a level with none has its
parent's."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields_content import ADD_HEADER, ADD_TRAILER, EXPIRES
from ..model.headers import AddedHeader, Expires, ExpiresKind, parse_expires
from ..model.templates import Template
from ..settings import Slot
from ..variables import compile_template


def expires(block: Block, directive: Directive, reading: Reading) -> None:
    """`expires [modified] time | epoch | max | off` (ngx_http_headers_expires); a value with variables
    is read per response."""
    assert block.http is not None
    level = block.level()
    if level.here(EXPIRES) is not None:
        raise directive.invalid("is duplicate")
    kind = ExpiresKind.ACCESS
    value = directive.args[0]
    if len(directive.args) == 2:
        if directive.args[0] != "modified":
            raise directive.invalid("invalid value")
        kind, value = ExpiresKind.MODIFIED, directive.args[1]
    template = compile_template(value, block.http.variables, directive.place, directive.place)
    if template.constant_text is None:
        level.set(EXPIRES, Expires(kind, 0, template), directive.place)
        return
    parsed = parse_expires(value, kind)
    if isinstance(parsed, str):
        raise directive.invalid(parsed)
    level.set(EXPIRES, Expires(parsed[0], parsed[1], None), directive.place)


def _added(slot: Slot[tuple[AddedHeader, ...]]) -> Handler:
    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        """ngx_http_headers_add: `name value [always]`."""
        assert block.http is not None
        level = block.level()
        here = level.here(slot)
        name, text = directive.args[0], directive.args[1]
        uses = block.http.variables
        value = compile_template(text, uses, directive.place, directive.place) if text else Template("", ())
        always = len(directive.args) == 3
        if always and directive.args[2] != "always":
            raise directive.error(f'invalid parameter "{directive.args[2]}"')
        added = (
            (*here.value, AddedHeader(name, value, always))
            if here is not None
            else (AddedHeader(name, value, always),)
        )
        level.set(slot, added, here.place if here is not None else directive.place)

    return handle


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_headers_filter_module", "expires"): expires,
    ("ngx_http_headers_filter_module", "add_header"): _added(ADD_HEADER),
    ("ngx_http_headers_filter_module", "add_trailer"): _added(ADD_TRAILER),
}
