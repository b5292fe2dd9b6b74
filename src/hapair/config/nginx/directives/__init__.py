"""Directive handlers, by (nginx module, directive name): what each directive hapair implements does
with its arguments, as nginx's handler for it does."""

from __future__ import annotations

from ..context import Handler
from . import (
    core,
    http_autoindex,
    http_charset,
    http_core,
    http_core_files,
    http_headers,
    http_index,
    http_log,
    http_proxy,
    http_ssl,
    http_try_files,
    rewrite,
    stream,
    upstream,
)

HANDLERS: dict[tuple[str, str], Handler] = {
    **core.HANDLERS,
    **http_core.HANDLERS,
    **http_core_files.HANDLERS,
    **http_index.HANDLERS,
    **http_autoindex.HANDLERS,
    **http_try_files.HANDLERS,
    **http_headers.HANDLERS,
    **http_charset.HANDLERS,
    **http_log.HANDLERS,
    **upstream.HANDLERS,
    **http_proxy.HANDLERS,
    **http_ssl.HANDLERS,
    **rewrite.HANDLERS,
    **stream.HANDLERS,
}
