"""Responses from the backend, well and badly framed, through nginx and hapair: bare LF line ends,
Content-Length and Transfer-Encoding (duplicated, invalid, together), bad chunks, responses in pieces or
cut short, a close without an answer, and a `101 Switching Protocols` the client did not ask for. The
statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import pytest

from .backend import CLOSE_WITHOUT_ANSWER, raw
from .client import Conversation
from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
pair = pair_fixture(http_config())

GET_1_0 = b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"
GET_1_1 = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

CASES = [
    # line ends
    Case(
        "bare LF line ends",
        GET_1_0,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"),
    ),
    Case(
        "CRLF and LF mixed",
        GET_1_0,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 2\r\n\r\nok"),
    ),
    # framing
    Case(
        "duplicate Content-Length, same value",
        GET_1_0,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"),
    ),
    Case(
        "Content-Length not a number",
        GET_1_0,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nok", close=True),
    ),
    Case(
        "negative Content-Length",
        GET_1_0,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok", close=True),
    ),
    Case(
        "unknown Transfer-Encoding, read to the close",
        GET_1_1,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nok", close=True),
    ),
    Case(
        "body delimited by the close, to an HTTP/1.1 client",
        GET_1_1,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\n\r\nhello", close=True),
    ),
    Case(
        "HTTP/1.0 response",
        GET_1_1,
        (200,),
        reply=raw(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", close=True),
    ),
    # chunks
    Case(
        "chunk size not hexadecimal",
        GET_1_1,
        (),
        reply=raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2x\r\nok\r\n0\r\n\r\n", close=True),
    ),
    Case(
        "chunk without its CRLF",
        GET_1_1,
        (),
        reply=raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX0\r\n\r\n", close=True),
    ),
    Case(
        "chunk size past 64 bits",
        GET_1_1,
        (),
        reply=raw(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nok\r\n0\r\n\r\n",
            close=True,
        ),
    ),
    Case(
        "chunked body cut short",
        GET_1_1,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nok", close=True),
    ),
    # heads nginx refuses as well
    Case(
        "head past proxy_buffer_size",
        GET_1_0,
        (502,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Big: " + b"a" * 4050 + b"\r\n\r\nok"),
    ),
    Case(
        "space in a header name",
        GET_1_0,
        (502,),
        reply=raw(b"HTTP/1.1 200 OK\r\nX A: 1\r\nContent-Length: 2\r\n\r\nok"),
    ),
    Case(
        "obs-fold",
        GET_1_0,
        (502,),
        reply=raw(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 2\r\n\r\nok"),
    ),
    # timing
    Case(
        "response in pieces",
        GET_1_1,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nConte", b"nt-Length: 5\r\n\r\nhe", b"llo", gap=0.05),
    ),
    Case(
        "close without an answer",
        GET_1_0,
        (502,),
        reply=CLOSE_WITHOUT_ANSWER,
    ),
    # 101 Switching Protocols the client did not ask for (no Upgrade in the request)
    Case(
        "101 and data at once, HTTP/1.0 client",
        GET_1_0,
        (101,),
        reply=raw(SWITCHING + b"hello", close=True),
    ),
    Case(
        "101 and data at once, HTTP/1.1 client",
        Conversation([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], timeout=0.5),
        (101,),
        reply=raw(SWITCHING + b"hello", close=True),
        compare_log=False,
    ),
    Case("101 without data", GET_1_0, (101,), reply=raw(SWITCHING, close=True)),
    Case("101, data later", GET_1_0, (101,), reply=raw(SWITCHING, b"hello", gap=0.05, close=True)),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


AMBIGUOUS = [
    pytest.param(
        raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!", close=True),
        id="two Content-Length values",
    ),
    pytest.param(
        raw(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        ),
        id="Content-Length and Transfer-Encoding",
    ),
]


@pytest.mark.parametrize("reply", AMBIGUOUS)
def test_a_response_framed_two_ways_is_refused(pair: Pair, reply: object) -> None:
    """nginx 1.22 takes a response whose length two headers give differently (it uses the last
    Content-Length, or the chunks): a response-splitting and desynchronisation vector on a kept
    connection. hapair, which keeps upstream connections, is stricter on purpose: 502."""
    outcome = pair.exchange(GET_1_0, reply)  # type: ignore[arg-type]
    assert outcome.nginx.answer.statuses == [200]
    assert outcome.hapair.answer.statuses == [502]
    assert "upstream sent invalid header" in outcome.hapair.errors
