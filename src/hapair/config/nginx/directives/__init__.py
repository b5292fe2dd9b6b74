"""Directive handlers, by (nginx module, directive name): what each directive hapair implements does
with its arguments, as nginx's handler for it does."""

from __future__ import annotations

from ..context import Handler
from . import (
    core,
    http_access,
    http_auth_basic,
    http_autoindex,
    http_charset,
    http_core,
    http_core_files,
    http_gzip,
    http_headers,
    http_index,
    http_limit_conn,
    http_limit_except,
    http_limit_req,
    http_log,
    http_map,
    http_proxy,
    http_realip,
    http_split_clients,
    http_ssl,
    http_try_files,
    resolver,
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
    **http_map.HANDLERS,
    **http_split_clients.HANDLERS,
    **upstream.HANDLERS,
    **http_proxy.HANDLERS,
    **http_ssl.HANDLERS,
    **resolver.HANDLERS,
    **rewrite.HANDLERS,
    **http_gzip.HANDLERS,
    **stream.HANDLERS,
    **http_realip.HANDLERS,
    **http_access.HANDLERS,
    **http_auth_basic.HANDLERS,
    **http_limit_req.HANDLERS,
    **http_limit_conn.HANDLERS,
    **http_limit_except.HANDLERS,
}
