"""The auth_request module (ngx_http_auth_request_module): the access phase's last check asks a
subrequest. Its status decides: 2xx lets the request through, 401 refuses it with the subrequest's
`WWW-Authenticate`, 403 refuses it, anything else is a 500 with nginx's `auth request unexpected status`.
`auth_request_set` assignments are evaluated in the subrequest (its `$upstream_http_*`...) and set in
the request, whatever the verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel

from .access import ALLOWED, FORBIDDEN, SERVER_ERROR, Verdict
from .logcontext import log_request_error
from .response import find_header
from .subrequest import Subrequest
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from hapair.config.nginx.model.access import AuthRequest

    from .exchange import Exchange

_WWW_AUTHENTICATE = b"www-authenticate"
_AFTER_UPSTREAM = "sending to client"  # the log action ngx_http_upstream_finalize_request leaves


class AuthRequestCheck:
    """The module at one location: its URI and its `auth_request_set` assignments."""

    __slots__ = ("_assignments", "_uri")

    def __init__(self, settings: AuthRequest) -> None:
        self._uri = settings.uri
        self._assignments = tuple((name, CompiledTemplate(value)) for name, value in settings.assignments)

    def start(self, ex: Exchange, decided: Callable[[Verdict], None]) -> None:
        """Make the subrequest; `decided` gets the verdict once it is over (never before this returns),
        unless the request ended first."""

        def done(sub: Subrequest) -> None:
            asyncio.get_running_loop().call_soon(self._conclude, ex, sub, decided)

        sub = Subrequest(ex, self._uri, done)
        ex.add_cleanup(sub.client_lost)
        ex.watching_client = lambda: sub.content is not None and not sub.content.closed  # its upstream
        sub.begin()

    def _conclude(self, ex: Exchange, sub: Subrequest, decided: Callable[[Verdict], None]) -> None:
        ex.watching_client = None
        if ex.finished:
            return
        for name, value in self._assignments:
            ex.set_variable(name, value.evaluate(sub))
        decided(_verdict(ex, sub))


def _verdict(ex: Exchange, sub: Subrequest) -> Verdict:
    status = sub.status
    if status == 403:
        return FORBIDDEN
    if status == 401:
        return Verdict(401, _challenge(sub))
    if 200 <= status < 300:
        return ALLOWED
    action = _AFTER_UPSTREAM if sub.attempts else None
    log_request_error(ex, ErrorLevel.ERROR, f"auth request unexpected status: {status}", action)
    return SERVER_ERROR


def _challenge(sub: Subrequest) -> bytes | None:
    """The subrequest's `WWW-Authenticate`: its response's, else its upstream's."""
    head = sub.head
    own = find_header(head.headers, _WWW_AUTHENTICATE) if head is not None else None
    return own if own is not None else find_header(sub.response_headers, _WWW_AUTHENTICATE)
