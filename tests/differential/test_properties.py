"""Generated request heads, valid and malformed, through nginx and hapair: random methods, targets and
versions, header names with odd characters, duplicated framing headers, CRLF, LF or CR line ends, bodies
that fit their framing or not, sometimes after a good request on the same connection. The client sends
all at once, and reads until the proxy closes, or until nothing more came for a moment after an answer
(a half-close would make nginx drop the request as a client abort).

The property: hapair's backend never sees a request nginx's did not (after the documented differences),
hapair never leaves the client without an answer or a close where nginx answered or closed, and no
hapair worker dies. Hypothesis runs a fixed sequence of examples (derandomized), without shrinking, so
that the test costs tens of seconds."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from . import compare
from .client import Conversation
from .harness import Pair, SideResult, http_config
from .suite import ORACLE, pair_fixture

pytestmark = ORACLE
pair = pair_fixture(http_config())

EXAMPLES = 200
HANG_BOUND_S = 1.0  # no answer and no close for this long, where nginx answered or closed: a hang
SETTLE_S = 0.2  # after an answer, the client stops reading when nothing more came for this long

# each part of a request is usual most of the time and odd now and then, so that most requests get far
# enough for their oddity to matter
METHODS = (
    st.sampled_from([b"GET", b"POST"]),
    st.sampled_from(
        [
            b"PUT",
            b"HEAD",
            b"DELETE",
            b"OPTIONS",
            b"PATCH",
            b"TRACE",
            b"CONNECT",
            b"get",
            b"FOO-BAR",
            b"G_ET",
            b"",
        ]
    )
    | st.binary(min_size=1, max_size=6),
)
TARGETS = (
    st.sampled_from([b"/", b"/a?b=c", b"/x/y"]),
    st.sampled_from([b"/%41", b"//x", b"/../x", b"/a b", b"/\x00", b"*", b"http://example.com/x", b"", b"x"])
    | st.binary(min_size=1, max_size=8),
)
VERSIONS = (
    st.sampled_from([b" HTTP/1.1", b" HTTP/1.0"]),
    st.sampled_from(
        [b" HTTP/1.2", b" HTTP/2.0", b" HTTP/0.9", b"", b" http/1.1", b" HTTP/1.1 ", b" HTTP/11"]
    ),
)
NAMES = (
    st.sampled_from(
        [b"Accept", b"User-Agent", b"X-A", b"Content-Length", b"Transfer-Encoding", b"Connection"]
    ),
    st.sampled_from(
        [
            b"Expect",
            b"Upgrade",
            b"Host",
            b"Content_Length",
            b"X_Forwarded_For",
            b"Transfer-Encoding ",
            b" Host",
            b"X.Y",
            b"X@Y",
            b"X\x00Y",
            b"",
        ]
    )
    | st.binary(min_size=1, max_size=8),
)
VALUES = (
    st.sampled_from([b"x", b"5", b"0", b"chunked", b"close", b"keep-alive"]),
    st.sampled_from(
        [
            b"",
            b"-1",
            b"abc",
            b"5, 5",
            b"Chunked",
            b"chunked, chunked",
            b"gzip",
            b"upgrade",
            b"100-continue",
            b"websocket",
            b"a\x00b",
            b"a\rb",
        ]
    )
    | st.binary(max_size=8),
)
LINE_ENDS = (st.just(b"\r\n"), st.sampled_from([b"\n", b"\r"]))
SEPARATORS = (st.just(b": "), st.sampled_from([b":", b" : ", b":\t", b""]))
BODIES = (
    st.sampled_from([b"", b"hello", b"5\r\nhello\r\n0\r\n\r\n"]),
    st.sampled_from([b"0\r\n\r\n", b"ffffffffffffffffff\r\n", b"5\nhello\n0\n\n"]) | st.binary(max_size=16),
)
GOOD = b"GET /first HTTP/1.1\r\nHost: x\r\n\r\n"


def _part(draw: st.DrawFn, choices: tuple[st.SearchStrategy[bytes], st.SearchStrategy[bytes]]) -> bytes:
    """A usual value seven times in eight, an odd one otherwise."""
    usual, odd = choices
    return draw(odd) if draw(st.integers(0, 7)) == 0 else draw(usual)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A request head (and what follows it), perhaps after a good request on the same connection."""
    end = _part(draw, LINE_ENDS)
    data = _part(draw, METHODS) + b" " + _part(draw, TARGETS) + _part(draw, VERSIONS) + end
    if draw(st.integers(0, 9)):
        data += b"Host: x" + end
    for _ in range(draw(st.integers(0, 4))):
        data += _part(draw, NAMES) + _part(draw, SEPARATORS) + _part(draw, VALUES) + _part(draw, LINE_ENDS)
    data += end + _part(draw, BODIES)
    return (GOOD if draw(st.booleans()) else b"") + data


def complete_requests(side: SideResult) -> Counter[compare.NormalizedRequest]:
    """What the backend saw, as documented_upstream_differences gives it, without a last request cut
    short: bodies are streamed by hapair (a documented difference), so a body the client did not finish
    reaches its backend in part."""
    return Counter(request for request in compare.documented_upstream_differences(side) if request[-1])


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=requests())
def test_hapair_forwards_nothing_nginx_does_not_and_always_ends(pair: Pair, data: bytes) -> None:
    outcome = pair.exchange(Conversation([data], timeout=HANG_BOUND_S, settle=SETTLE_S))
    nginx, hapair = outcome.nginx, outcome.hapair
    extra = complete_requests(hapair) - complete_requests(nginx)
    assert not extra, f"hapair's backend saw what nginx's did not: {list(extra)}"
    assert not (hapair.answer.timed_out and not nginx.answer.timed_out), "hapair neither answered nor closed"
    compare.assert_no_worker_died(hapair)
