"""HTTP/2 beside nginx 1.22.1: the same streams (the `h2` library as the client, with prior knowledge on
a `listen ... http2`) to both, on the same configuration; compared: each stream's status, headers other
than Server and Date, body and trailers (or its reset), the GOAWAY, what the backend received, and the
access-log lines (`$bytes_sent` counts the frames: the head's HPACK bytes are nginx's)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .backend import raw
from .h2_harness import H2, H2Case, H2Pair, Stream, answers, log_lines, upstream
from .harness import http_config
from .suite import ORACLE

pytestmark = ORACLE

TEXT = http_config(
    server=f"""
        listen 127.0.0.1:{H2} http2;
        location = /here {{ return 200 "$http2 $server_protocol $request_uri $http_cookie"; }}
        location = /moved {{ return 301 /elsewhere; }}
        location = /nothing {{ return 204; }}
        location = /gone {{ return 410; }}
        location = /closed {{ return 444; }}
        location /trailers {{ add_trailer X-Checksum "abc"; return 200 "with trailers"; }}
        location = /guarded {{ auth_request /allow; proxy_pass http://backend; }}
        location = /allow {{ internal; return 204; }}
        location = /denied {{ auth_request /deny; proxy_pass http://backend; }}
        location = /deny {{ internal; return 403; }}
    """,
)
BIG = b"0123456789abcdef" * 8192  # 128 KiB: sixteen DATA frames of nginx's 8k chunk

CASES = [
    H2Case("a GET proxied", (Stream.get("/"),), (200,)),
    H2Case("a query", (Stream.get("/search?q=a%20b&x"),), (200,)),
    H2Case(
        "headers and cookies joined",
        (Stream.get("/here", (b"cookie", b"a=1"), (b"x-custom", b"v"), (b"cookie", b"b=2")),),
        (200,),
    ),
    H2Case(
        "cookies go upstream joined",
        (Stream.get("/c", (b"cookie", b"a=1"), (b"accept", b"*/*"), (b"cookie", b"b=2")),),
        (200,),
    ),
    H2Case("return with variables", (Stream.get("/here?x=1"),), (200,)),
    H2Case("a redirect made absolute", (Stream.get("/moved"),), (301,)),
    H2Case("204 ends the stream on HEADERS", (Stream.get("/nothing"),), (204,)),
    H2Case("an error page", (Stream.get("/gone"),), (410,)),
    H2Case("444 resets the stream", (Stream.get("/closed"),), (-1,)),
    H2Case("HEAD", (Stream.get("/", method="HEAD"),), (200,)),
    H2Case("trailers", (Stream.get("/trailers"),), (200,)),
    H2Case("auth_request allows", (Stream.get("/guarded"),), (200,)),
    H2Case("auth_request denies", (Stream.get("/denied"),), (403,)),
    H2Case(
        "a body with its length",
        (Stream.get("/up", (b"content-length", b"5"), method="POST", body=b"hello"),),
        (200,),
    ),
    H2Case("a body without a length", (Stream.get("/up", method="PUT", body=b"x" * 70000),), (200,)),
    H2Case(
        "a large response in chunks",
        (Stream.get("/big"),),
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(BIG), BIG)),
    ),
    H2Case(
        "a chunked upstream response",
        (Stream.get("/chunked"),),
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"),
    ),
    H2Case("three streams at once", (Stream.get("/a"), Stream.get("/a"), Stream.get("/a")), (200, 200, 200)),
    # nginx's refusals of a header list
    H2Case(
        "no :path", (Stream(((b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"x"))),), (400,)
    ),
    H2Case("no :method", (Stream(((b":scheme", b"http"), (b":path", b"/"), (b":authority", b"x"))),), (400,)),
    H2Case("no host", (Stream(((b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"))),), (400,)),
    H2Case("a :path not from the root", (Stream.get("x/y"),), (400,)),
    H2Case("a duplicate :method", (Stream.get("/", (b":method", b"GET")),), (400,)),
    H2Case("an unknown pseudo-header", (Stream.get("/", (b":protocol", b"websocket")),), (400,)),
    H2Case("a lower-case method", (Stream.get("/", method="get"),), (400,)),
    H2Case("an upper-case header name", (Stream.get("/", (b"X-Upper", b"v")),), (-1,)),
    H2Case("a header value with a line feed", (Stream.get("/", (b"x-bad", b"a\nb")),), (-1,)),
    H2Case("a header name with an underscore is dropped", (Stream.get("/u", (b"x_under", b"v")),), (200,)),
    H2Case("host and :authority", (Stream.get("/", (b"host", b"other")),), (400,)),
    H2Case("CONNECT", (Stream.get("/", method="CONNECT"),), (405,)),
    H2Case("TRACE", (Stream.get("/", method="TRACE"),), (405,)),
    H2Case("an unknown transfer-encoding", (Stream.get("/", (b"transfer-encoding", b"gzip")),), (501,)),
    H2Case("a length on an ended stream", (Stream.get("/", (b"content-length", b"3")),), (400,)),
    H2Case(
        "a length that is no number",
        (Stream.get("/", (b"content-length", b"3x"), body=b"abc", method="POST"),),
        (400,),
    ),
    H2Case("a duplicate unique header", (Stream.get("/", (b"if-match", b"a"), (b"if-match", b"b")),), (400,)),
    H2Case(
        "a body larger than its length",
        (Stream.get("/", (b"content-length", b"2"), body=b"abc", method="POST"),),
        (400,),
    ),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[H2Pair]:
    running = H2Pair(tmp_path_factory.mktemp("h2pair"), TEXT)
    yield running
    running.close()


def _params(cases: list[H2Case], *, log: bool) -> list[Any]:
    return [
        pytest.param(
            case,
            id=case.name,
            marks=[pytest.mark.xfail(strict=True, reason=reason)]
            if (reason := case.log_differs if log else case.differs)
            else [],
        )
        for case in cases
    ]


@pytest.mark.parametrize("case", _params(CASES, log=False))
def test_answer(pair: H2Pair, case: H2Case) -> None:
    nginx, hapair = pair.run(case)
    assert nginx.statuses == case.nginx
    assert answers(hapair) == answers(nginx)
    assert upstream(hapair) == upstream(nginx)


@pytest.mark.parametrize("case", _params(CASES, log=True))
def test_log(pair: H2Pair, case: H2Case) -> None:
    nginx, hapair = pair.run(case)
    assert log_lines(hapair) == log_lines(nginx), (hapair.side.access, nginx.side.access)
