"""The context nginx adds to an error log line about a request (ngx_http_log_error_handler): `, client:
ADDR, server: NAME, request: "LINE", subrequest: "URI", upstream: "URL", host: "HOST", referrer: "URL"`
(the subrequest's URI for a line about one, the upstream once one is chosen). The request's own bytes
are written as they came (latin-1 text is turned back into them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel

if TYPE_CHECKING:
    from .exchange import Exchange


def _raw(text: str) -> str:
    """One character per byte, as the error log writer writes them back (surrogate escapes)."""
    return text.encode("latin-1").decode("utf-8", "surrogateescape")


def error_context(ex: Exchange, upstream: str | None = None, action: str | None = None) -> str:
    """`action`: what nginx was doing (` while sending to client`...), written before the context."""
    request = ex.request
    parts = [f" while {action}"] if action else []
    parts.append(f", client: {ex.remote_addr}, server: {ex.server_name}")
    if request.line:
        parts.append(f', request: "{request.line.decode("utf-8", "surrogateescape")}"')
    if ex.subrequest:
        parts.append(f', subrequest: "{ex.uri}"')
    if upstream is not None:
        parts.append(f', upstream: "{upstream}"')
    if request.host_header is not None:
        parts.append(f', host: "{_raw(request.host_header.decode("latin-1"))}"')
    referer = request.header_values("referer")
    if referer:
        parts.append(f', referrer: "{_raw(referer[0].decode("latin-1"))}"')
    return "".join(parts)


def log_request_error(
    ex: Exchange, level: ErrorLevel, text: str, action: str | None = None, upstream: str | None = None
) -> None:
    """`text` in the request's error log, with the request's context."""
    ex.log_error(level, text + error_context(ex, upstream, action))
