"""The stub_status module: `stub_status` (ngx_http_stub_status_module.c) makes the server's or location's
content handler the status page; its argument, from old nginx versions, is read and ignored as nginx 1.22
ignores it."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields import STUB_STATUS


def stub_status(block: Block, directive: Directive, reading: Reading) -> None:
    block.level().set(STUB_STATUS, True, directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_stub_status_module", "stub_status"): stub_status,
}
