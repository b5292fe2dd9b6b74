"""Directive handlers, by (nginx module, directive name): what each directive hapair implements does
with its arguments, as nginx's handler for it does."""

from __future__ import annotations

from ..context import Handler
from . import core, http_core, http_gzip, http_log, http_proxy, http_ssl, rewrite, stream, upstream

HANDLERS: dict[tuple[str, str], Handler] = {
    **core.HANDLERS,
    **http_core.HANDLERS,
    **http_log.HANDLERS,
    **upstream.HANDLERS,
    **http_proxy.HANDLERS,
    **http_ssl.HANDLERS,
    **rewrite.HANDLERS,
    **http_gzip.HANDLERS,
    **stream.HANDLERS,
}
