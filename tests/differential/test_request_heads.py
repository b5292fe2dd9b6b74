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

REFUSED_LOG = (
    "nginx logs a request refused after its request line with that line, its Host, its $request_length "
    'and the page as $body_bytes_sent; hapair logs "-", "-" and 0'
)
CONTINUE_LOG = "nginx counts the 25 bytes of its 100 Continue in $body_bytes_sent and $bytes_sent"
ANSWER_LOG = "the log line follows the answer"


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
        differs="nginx takes a bare LF as a line end: 200, the request proxied",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "CRLF and LF mixed",
        b"GET / HTTP/1.1\r\nHost: x\nConnection: close\r\n\n",
        (200,),
        differs="nginx takes a bare LF as a line end: 200, the request proxied",
        log_differs=ANSWER_LOG,
    ),
    # request lines
    Case(
        "HTTP/0.9 request line, then headers and a body",
        b"GET /x\nHost: x\nContent-Length: 5\n\nhello",
        (),
        differs="nginx takes `GET /x` as HTTP/0.9: it proxies GET /x, answers the bare body and closes; "
        "what follows the line is not read",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "HTTP/0.9 request line alone",
        Conversation([b"GET /x\r\n"], timeout=1.0),
        (),
        differs="nginx answers HTTP/0.9 (the bare body) and closes; hapair neither answers nor closes",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "HTTP/1.2",
        b"GET / HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n",
        (200,),
        differs="nginx serves HTTP/1.2 as HTTP/1.1: 200",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "HTTP/2.0 in a request line",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        (505,),
        differs="nginx answers 505 (client sent invalid version); hapair proxies it",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "HTTP/3.0 in a request line",
        b"GET / HTTP/3.0\r\nHost: x\r\n\r\n",
        (505,),
        differs="nginx answers 505; hapair 400",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "TRACE",
        b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (405,),
        differs="nginx answers 405 (client sent TRACE method); hapair proxies it",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "CONNECT",
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
        (400,),
        differs="nginx answers 400 (client sent invalid request); hapair 405",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "method of capitals and a dash",
        b"FOO-BAR / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (200,),
        differs="nginx proxies any method of capitals, '-' and '_': 200; hapair 400",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "lower-case method",
        b"get / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case(
        "OPTIONS *",
        b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case(
        "space in the target",
        b"GET /a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case(
        "target above the root",
        b"GET /../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
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
        differs="nginx takes any scheme in an absolute-form target and proxies the path: 200; hapair 400",
        log_differs=ANSWER_LOG,
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
        differs="nginx drops a header name with an underscore (underscores_in_headers off), so the bytes "
        "after the head are the next request; hapair sends `Content_Length: 30` upstream, where a backend "
        "that reads `_` as `-` (CGI, WSGI) takes the next request as a body",
    ),
    Case(
        "X_Forwarded_For",
        b"GET / HTTP/1.1\r\nHost: x\r\nX_Forwarded_For: 1.2.3.4\r\nConnection: close\r\n\r\n",
        (200,),
        differs="nginx drops a header name with an underscore (underscores_in_headers off)",
    ),
    Case(
        "@ in a header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX@Y: 1\r\nConnection: close\r\n\r\n",
        (200,),
        differs="nginx drops an invalid header name (ignore_invalid_headers on) and serves the request; "
        "hapair answers 400",
        log_differs=ANSWER_LOG,
    ),
    Case(
        ". in a header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX.Y: 1\r\nConnection: close\r\n\r\n",
        (200,),
        differs="nginx drops an invalid header name (ignore_invalid_headers on); hapair sends it upstream",
    ),
    Case(
        "non-ASCII header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX\xe9Y: 1\r\nConnection: close\r\n\r\n",
        (200,),
        differs="nginx drops an invalid header name (ignore_invalid_headers on) and serves the "
        "request; hapair answers 400",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "DEL in a header name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX\x7fY: 1\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case(
        "empty header name",
        b"GET / HTTP/1.1\r\nHost: x\r\n: 1\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    # Host
    Case(
        "empty Host",
        b"GET / HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n",
        (400,),
        differs="nginx answers 400 (client sent invalid host header); hapair proxies it",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "empty Host, HTTP/1.0",
        b"GET / HTTP/1.0\r\nHost:\r\n\r\n",
        (400,),
        differs="nginx answers 400 (client sent invalid host header); hapair proxies it",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "space in Host",
        b"GET / HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
        (400,),
        differs="nginx answers 400 (client sent invalid host header); hapair proxies it",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "slash in Host",
        b"GET / HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case(
        "two dots in Host",
        b"GET / HTTP/1.1\r\nHost: a..b\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case("user@ in Host", b"GET / HTTP/1.1\r\nHost: user@a\r\nConnection: close\r\n\r\n", (200,)),
    Case(
        "two Host headers",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    Case(
        "HTTP/1.1 without Host",
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        (400,),
        log_differs=REFUSED_LOG,
    ),
    # header counts
    Case("1000 header lines", _headers(1000), (200,)),
    Case(
        "1001 header lines",
        _headers(1001),
        (400,),
        differs="nginx answers 400 Request Header Or Cookie Too Large past 1000 header lines (client sent "
        "too many header lines); hapair proxies them",
        log_differs=ANSWER_LOG,
    ),
    # pipelining
    Case(
        "good request, then a malformed one, pipelined",
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nContent-Length: a\r\n\r\n",
        (200, 400),
        differs="nginx answers the first (Connection: keep-alive), then 400 to the second, and closes; "
        "hapair answers the first with Connection: close and drops the second",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "good request, then garbage, pipelined",
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nxyz\r\n\r\n",
        (200, 400),
        differs="nginx answers the first (Connection: keep-alive), then 400 to the garbage, and closes; "
        "hapair answers the first with Connection: close and drops the rest",
        log_differs=ANSWER_LOG,
    ),
    Case(
        "a request, then a half-close",
        Conversation([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], half_close=True),
        (),
        differs="nginx takes the half-close as the client leaving (proxy_ignore_client_abort off): it "
        "closes without proxying and logs 499; hapair proxies the request and answers",
        log_differs=ANSWER_LOG,
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
        differs="nginx proxies the POST with its body (no upgrade without proxy_set_header Upgrade) and "
        "answers 200, keep-alive; hapair sends the head as an upgrade without the body, and gives no answer",
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
        differs="nginx proxies a plain GET (neither Upgrade nor Connection: upgrade without "
        "proxy_set_header) and keeps the client connection (Connection: keep-alive); hapair passes the "
        "upgrade upstream and closes after the 200",
        log_differs=ANSWER_LOG,
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
        log_differs=CONTINUE_LOG,
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
