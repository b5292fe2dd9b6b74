"""Request heads, valid and not, through nginx and hapair: line ends, request lines (versions, methods,
targets, HTTP/0.9), header names nginx drops, Host checks, header counts, pipelining, upgrades and
`Expect`. The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import pytest

from .client import Conversation
from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
pair = pair_fixture(http_config())


def _headers(count: int) -> bytes:
    """A GET with `count` header lines."""
    lines = b"".join(b"X-%d: v\r\n" % index for index in range(count - 2))
    return b"GET / HTTP/1.1\r\nHost: x\r\n" + lines + b"Connection: close\r\n\r\n"


CASES = [
    # line ends
    Case(
        "bare LF line ends",
        b"GET / HTTP/1.0\nHost: x\n\n",
        (200,),
    ),
    Case(
        "CRLF and LF mixed",
        b"GET / HTTP/1.1\r\nHost: x\nConnection: close\r\n\n",
        (200,),
    ),
    # request lines
    Case(
        "HTTP/0.9 request line, then headers and a body",
        b"GET /x\nHost: x\nContent-Length: 5\n\nhello",
        (),
    ),
    Case(
        "HTTP/0.9 request line alone",
        Conversation([b"GET /x\r\n"], timeout=1.0),
        (),
    ),
    Case(
        "HTTP/1.2",
        b"GET / HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "HTTP/2.0 in a request line",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        (505,),
    ),
    Case(
        "HTTP/3.0 in a request line",
        b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
        (505,),
    ),
    Case(
        "TRACE",
        b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (405,),
    ),
    Case(
        "CONNECT",
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        (400,),
    ),
    Case(
        "method of capitals and a dash",
        b"FOO-BAR / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "lower-case method",
        b"get / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "OPTIONS *",
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "space in the target",
        b"GET /a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "target above the root",
        b"GET /../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    # absolute-form targets: nginx takes the host from the target, and sends the path upstream
    Case(
        "absolute-form http target",
        b"GET http://example.com/x?y HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "absolute-form https target with a port",
        b"GET https://example.com:8443/x HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "absolute-form target without a path",
        b"GET http://example.com HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "absolute-form ftp target",
        b"GET ftp://example.com/x HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    # header names nginx drops: underscores_in_headers off, ignore_invalid_headers on
    Case(
        "Content_Length with a body, keep-alive",
        Conversation(
            [
                b"POST / HTTP/1.1\r\nHost: x\r\nContent_Length: 30\r\n\r\n"
                b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
            ],
            responses=2,
        ),
        (200, 200),
    ),
    Case(
        "X_Forwarded_For",
        b"GET / HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 1.2.3.4\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "@ in a header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX@Y: 1\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        ". in a header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX.Y: 1\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "non-ASCII header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX\xe9Y: 1\r\nConnection: close\r\n\r\n",
        (200,),
    ),
    Case(
        "DEL in a header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX\x7fY: 1\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "empty header name",
        b"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    # Host
    Case(
        "empty Host",
        b"GET / HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "empty Host, HTTP/1.0",
        b"GET / HTTP/1.0\r\nHost:\r\n\r\n",
        (400,),
    ),
    Case(
        "space in Host",
        b"GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "slash in Host",
        b"GET / HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "two dots in Host",
        b"GET / HTTP/1.1\r\nHost: a..b\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case("user@ in Host", b"GET / HTTP/1.1\r\nHost: user@a\r\nConnection: close\r\n\r\n", (200,)),
    Case(
        "two Host headers",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    Case(
        "HTTP/1.1 without Host",
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        (400,),
    ),
    # header counts
    Case("1000 header lines", _headers(1000), (200,)),
    Case(
        "1001 header lines",
        _headers(1001),
        (400,),
    ),
    # pipelining
    Case(
        "good request, then a malformed one, pipelined",
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nContent-Length: a\r\n\r\n",
        (200, 400),
    ),
    Case(
        "good request, then garbage, pipelined",
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nxyz\r\n\r\n",
        (200, 400),
    ),
    # upgrades nginx does not make without `proxy_set_header Upgrade` and `Connection`
    Case(
        "h2c upgrade on a POST with a body",
        Conversation(
            [
                b"POST / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello"
            ],
            responses=1,
            timeout=1.0,
        ),
        (200,),
        compare_log=False,
    ),
    Case(
        "WebSocket upgrade without Upgrade configuration",
        Conversation(
            [b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"],
            responses=1,
            timeout=1.0,
        ),
        (200,),
    ),
    # Expect
    Case(
        "Expect: 100-continue, HTTP/1.1",
        Conversation(
            [
                b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                b"Connection: close\r\n\r\n",
                b"hello",
            ]
        ),
        (100, 200),
    ),
    Case(
        "Expect: 100-continue, HTTP/1.0",
        Conversation(
            [b"POST / HTTP/1.0\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", b"hello"]
        ),
        (200,),
    ),
    Case(
        "Expect: something else",
        b"POST / HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
        (200,),
    ),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


HALF_CLOSED = Conversation([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], half_close=True)


def test_a_client_that_half_closes_after_its_request_has_left(pair: Pair) -> None:
    """nginx takes a client's close (even of its sending side only) while a request is proxied as the
    client leaving (proxy_ignore_client_abort off): it answers nothing, closes, and logs 499. Whether
    the backend got the request first is a race in nginx itself (its connection to the backend may be
    made at once), and hapair writes it at once on a kept upstream connection (a documented
    difference): the backend gets the whole request or nothing, never an answer to the client."""

    outcome = pair.exchange(HALF_CLOSED)
    for side in outcome.sides():
        assert (side.answer.raw, side.answer.closed) == (b"", True), side.name
        assert side.access == ('499 0 0 27 "GET / HTTP/1.1" "x" -',), side.name
        assert all(request.complete for request in side.requests), side.name
        assert len(side.requests) <= 1, side.name
