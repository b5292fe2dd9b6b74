"""How a request's body is framed, and heads too large, through nginx and hapair: Content-Length and
Transfer-Encoding (duplicated, invalid, together, obfuscated), obs-fold, NUL and bare CR in a header,
nginx's `large_client_header_buffers 4 8k`, chunk sizes, and a client that leaves in the middle of a
body. The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import pytest

from .client import Conversation
from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
pair = pair_fixture(http_config())

CHUNKED = b"2\r\nok\r\n0\r\n\r\n"


def post(*headers: bytes, body: bytes = b"ok") -> bytes:
    """A POST with these header lines (and Host, Connection: close) and this body."""
    return (
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + (b"Connection: close\r\n\r\n" + body)
    )


def get(*headers: bytes) -> bytes:
    return (
        b"GET / HTTP/1.1\r\nHost: x\r\n"
        + b"".join(h + b"\r\n" for h in headers)
        + b"Connection: close\r\n\r\n"
    )


def refused(name: str, data: bytes, status: int = 400) -> Case:
    """A request both refuse with `status`."""
    return Case(name, data, (status,))


CASES = [
    # Content-Length
    refused("duplicate Content-Length, same value", post(b"Content-Length: 2", b"Content-Length: 2")),
    refused("duplicate Content-Length, other value", post(b"Content-Length: 2", b"Content-Length: 3"), 400),
    refused("Content-Length not a number", post(b"Content-Length: abc")),
    refused("negative Content-Length", post(b"Content-Length: -1")),
    refused("Content-Length with a plus sign", post(b"Content-Length: +2")),
    refused("Content-Length of two numbers", post(b"Content-Length: 1 2")),
    refused("Content-Length past 64 bits", post(b"Content-Length: 99999999999999999999999")),
    refused(
        "Content-Length and Transfer-Encoding",
        post(b"Content-Length: 2", b"Transfer-Encoding: chunked", body=CHUNKED),
    ),
    # Transfer-Encoding
    refused("Transfer-Encoding: gzip", post(b"Transfer-Encoding: gzip", body=CHUNKED), 501),
    Case(
        "Transfer-Encoding: chunked, chunked",
        post(b"Transfer-Encoding: chunked, chunked", body=CHUNKED),
        (501,),
    ),
    refused("Transfer-Encoding: gzip, chunked", post(b"Transfer-Encoding: gzip, chunked", body=CHUNKED), 501),
    refused("Transfer-Encoding: xchunked", post(b"Transfer-Encoding: xchunked", body=CHUNKED), 501),
    Case(
        "Transfer-Encoding with spaces before chunked",
        post(b"Transfer-Encoding:   chunked", body=CHUNKED),
        (200,),
    ),
    Case(
        "Transfer-Encoding: Chunked",
        post(b"Transfer-Encoding: Chunked", body=CHUNKED),
        (200,),
    ),
    refused(
        "space before the colon of Transfer-Encoding", post(b"Transfer-Encoding : chunked", body=CHUNKED)
    ),
    refused(
        "Transfer-Encoding twice",
        post(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked", body=CHUNKED),
    ),
    refused(
        "Transfer-Encoding in HTTP/1.0",
        b"POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + CHUNKED,
    ),
    # header lines
    refused("obs-fold", get(b"X-A: a", b" b")),
    refused("obs-fold in Transfer-Encoding", post(b"Transfer-Encoding: gzip,", b" chunked", body=CHUNKED)),
    refused("NUL in a header value", get(b"X-A: a\x00b")),
    refused("NUL in a header name", get(b"X-\x00A: ab")),
    refused("bare CR in a header value", get(b"X-A: a\rb")),
    # large_client_header_buffers 4 8k
    refused("request line over 8k", b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    refused("header line over 8k", get(b"X-A: " + b"a" * 8200)),
    refused("head over 32k", get(*(b"X-%d: %s" % (index, b"a" * 4000) for index in range(9)))),
    # chunks
    Case(
        "chunk size past 64 bits",
        post(b"Transfer-Encoding: chunked", body=b"ffffffffffffffffff\r\nok\r\n0\r\n\r\n"),
        (400,),
    ),
    Case(
        "chunk size not hexadecimal",
        post(b"Transfer-Encoding: chunked", body=b"2x\r\nok\r\n0\r\n\r\n"),
        (400,),
    ),
    Case(
        "chunk extension",
        post(b"Transfer-Encoding: chunked", body=b"2;a=b\r\nok\r\n0\r\n\r\n"),
        (200,),
    ),
    # the client leaves in the middle of a body: nginx reads a body whole before it connects upstream
    # (proxy_request_buffering on), so the backend never hears of it; the request is logged with 400
    Case(
        "a client leaving in the middle of a body",
        Conversation([b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel"], timeout=0.3),
        (),
    ),
    # pieces
    Case(
        "head and body in pieces",
        Conversation(
            [b"POST / HTTP/1.1\r\nHo", b"st: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhe", b"llo"]
        ),
        (200,),
    ),
    Case(
        "chunked body in pieces",
        Conversation([post(b"Transfer-Encoding: chunked", body=b"5\r\nhe"), b"llo\r\n", b"0\r\n\r\n"]),
        (200,),
    ),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)
