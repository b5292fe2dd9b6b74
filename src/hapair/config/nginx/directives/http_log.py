"""`log_format` and `access_log` in http (ngx_http_log_module)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from .logs import access_log, log_format


def http_log_format(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.http is not None
    log_format(block.http.log_formats, block.http.variables, directive)


def http_access_log(block: Block, directive: Directive, reading: Reading) -> None:
    assert block.http is not None
    access_log(block, directive, block.http.log_formats, block.http.variables, default_format=True)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_log_module", "log_format"): http_log_format,
    ("ngx_http_log_module", "access_log"): http_access_log,
}
