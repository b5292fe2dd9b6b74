"""A subrequest (ngx_http_subrequest): a request made inside another, whose response is not sent.

`auth_request` is the one user: its subrequest is a GET of a URI, with the main request's headers and
no body, that goes through the server's rewrite directives, finds its location and runs its steps as a
request does (internal locations included), but skips the access phase (nginx's `r != r->main`), shares
the main request's variables, and is not logged (`log_subrequest off`). Its response head is kept for
whoever asked; nothing of it reaches the client. When it is over, `done` is called with it.

Unlike nginx, the subrequest sends no request body and no `Content-Length` upstream: nginx sends the main
request's `Content-Length` without the body it announces, so a POST with a body makes the auth server
wait for bytes that never come (see docs/nginx-differences.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from .exchange import Exchange

if TYPE_CHECKING:
    from .response import ResponseHead


class Subrequest(Exchange):
    """The subrequest of `parent` for `uri` (without arguments, as auth_request gives it)."""

    __slots__ = ("_done", "parent")
    subrequest: ClassVar[bool] = True

    def __init__(self, parent: Exchange, uri: str, done: Callable[[Subrequest], None]) -> None:
        request = parent.request.again()
        request.content_length = None
        request.chunked = False
        request.expect_continue = False
        request.upgrade = False
        super().__init__(parent.client, request, parent.server, None, pipelined=False)
        self.parent = parent
        self._done = done
        self.method = b"GET"
        self.uri = uri
        self.args = None
        self.internal = True
        self.valid_unparsed_uri = False
        self.remote_addr = parent.remote_addr
        self.remote_port = parent.remote_port
        self.binary_remote_addr = parent.binary_remote_addr
        self.realip = parent.realip
        if parent.variables is None:
            parent.variables = {}
        self.variables = parent.variables

    def begin(self) -> None:
        """From the server's rewrite phase on (a subrequest has no post-read phase)."""
        self.start_phases()

    def send_head(self, head: ResponseHead) -> bool:
        """The head is kept, not sent: the subrequest is header-only (nginx's sr->header_only)."""
        self.head = head
        self.status = head.status
        self.mark_header_only()
        return True

    def _ended(self) -> None:
        self.run_cleanups()
        self._done(self)
