"""`chunked_transfer_encoding off`: a response of unknown length to an HTTP/1.1 client goes out without
chunks and ends with the connection, as nginx 1.22.1 sends it; with a length, or the default `on`,
nothing changes."""

from __future__ import annotations

import pytest

from .backend import raw
from .client import Conversation
from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
pair = pair_fixture(
    http_config(
        server="location /chunked { proxy_pass http://backend; }",
        location="chunked_transfer_encoding off;",
    )
)

CHUNKED_REPLY = raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
KEEP_ALIVE = Conversation([b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], responses=1, timeout=2.0)

CASES = [
    Case("unknown length, off: the body until the close", KEEP_ALIVE, (200,), reply=CHUNKED_REPLY),
    Case(
        "unknown length, on: chunked",
        Conversation([b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"], responses=1, timeout=2.0),
        (200,),
        reply=CHUNKED_REPLY,
    ),
    Case(
        "a known length, off: kept alive",
        KEEP_ALIVE,
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    ),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)
