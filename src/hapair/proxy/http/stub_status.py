"""The stub_status module's content handler: the counters of every worker (`proxy/status.py`) as nginx's
text page."""

from __future__ import annotations

from ..status import StatusBoard
from .exchange import DONE, Exchange
from .response import ResponseHead

_METHODS = (b"GET", b"HEAD")


class StatusPage:
    """ngx_http_stub_status_handler."""

    __slots__ = ("_board",)

    def __init__(self, board: StatusBoard) -> None:
        self._board = board

    def __call__(self, ex: Exchange) -> int:
        if ex.method not in _METHODS:
            return 405
        head = ResponseHead(200)
        head.content_type = b"text/plain"
        ex.respond(head, page(self._board.totals()))
        return DONE


def page(totals: tuple[int, ...]) -> bytes:
    """nginx's page, from the counters in the board's order."""
    accepted, handled, requests, active, reading, writing, waiting = totals
    return (
        b"Active connections: %d \nserver accepts handled requests\n %d %d %d \n"
        b"Reading: %d Writing: %d Waiting: %d \n"
    ) % (active, accepted, handled, requests, reading, writing, waiting)
