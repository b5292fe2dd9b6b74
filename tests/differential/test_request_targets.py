"""Request targets with percent escapes, as nginx 1.22.1 decodes them (ngx_http_parse_complex_uri): a `%`
without two hex digits is refused (400) rather than proxied, an escaped NUL or a `..` above the root
too; valid escapes are decoded into `$uri` and the target is proxied as it came."""

from __future__ import annotations

import pytest

from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE
pair = pair_fixture(http_config())


def _get(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


CASES = [
    Case("a % and two letters that are not hex", _get(b"/a%zz"), (400,)),
    Case("a % and one hex digit at the end", _get(b"/a%2"), (400,)),
    Case("a % at the end", _get(b"/a%"), (400,)),
    Case("a % before the query", _get(b"/a%?x=1"), (400,)),
    Case("a % in the query only", _get(b"/a?x=%zz"), (200,)),
    Case("valid escapes", _get(b"/a%20b%2Fc%25d"), (200,)),
    Case("an escaped NUL", _get(b"/a%00b"), (400,)),
    Case("escaped dots above the root", _get(b"/%2e%2e/x"), (400,)),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)
