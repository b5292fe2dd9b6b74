"""Protocol upgrades configured as nginx's documentation says (`proxy_http_version 1.1` and the `Upgrade`
and `Connection` headers set): the `101 Switching Protocols` and what follows it, both ways, and upgrades
the backend refuses. The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import pytest

from .backend import raw
from .client import Conversation
from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
UPGRADE_HEADERS = 'proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
pair = pair_fixture(http_config(location=f"proxy_http_version 1.1; {UPGRADE_HEADERS}"))

UPGRADE = b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
SWITCHING = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"

CASES = [
    Case(
        "101 and data at once",
        UPGRADE,
        (101,),
        reply=raw(SWITCHING + b"hello", close=True),
    ),
    Case(
        "101 and data at once, then data both ways until the client half-closes",
        Conversation([UPGRADE, b"ping"], half_close=True),
        (101,),
        reply=raw(SWITCHING + b"hello"),
    ),
    Case(
        "101, then data both ways",
        Conversation([UPGRADE, b"ping"]),
        (101,),
        reply=raw(SWITCHING, b"hello", wait_for=b"ping", close=True),
    ),
    Case(
        "upgrade refused with a 200",
        Conversation([UPGRADE], responses=1, timeout=1.0),
        (200,),
    ),
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
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


def test_bytes_reach_each_side_after_the_switch(pair: Pair) -> None:
    """The backend answers "hello" only once the client's "ping" came through the tunnel."""
    outcome = pair.run(CASES[2])
    for side in outcome.sides():
        [(_, data)] = side.upstream
        assert data.endswith(b"\r\n\r\nping"), side.name
        assert side.answer.statuses == [101], side.name
        assert side.answer.rest == b"hello", side.name
