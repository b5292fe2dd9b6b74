"""auth_request beside nginx: the subrequest's status decides (2xx through, 401 with the subrequest's
`WWW-Authenticate`, 403, anything else a 500 with nginx's error line), `auth_request_set` takes values
from the subrequest's upstream, error pages follow a refusal, `satisfy any` lets the address rules or the
subrequest decide, and a subrequest goes through rewrite directives and internal locations but not
through the access phase. Each case compares the answer, every request the backend saw (the auth
subrequest's among them), the access-log line and the error-log lines."""

from __future__ import annotations

import pytest

from .backend import NO_ANSWER, Reply, ok, raw
from .client import Conversation
from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture
from .test_access import error_lines

pytestmark = ORACLE

SERVER = """
    location = /auth-return-204 { return 204; }
    location = /auth-return-403 { return 403; }
    location = /auth-return-401 { return 401; }
    location = /auth-return-302 { return 302 /elsewhere; }
    location = /auth-denied { deny all; proxy_pass http://backend/denied-check; }
    location = /auth-missing { internal; proxy_pass http://127.0.0.1:1; }
    location = /auth-upstream {
        internal;
        proxy_pass http://backend/check?from=$request_uri;
        proxy_set_header X-Original-Method $request_method;
    }
    location = /auth-rewritten { rewrite ^ /auth-return-204 last; }
    location /through/ { auth_request /auth-return-204; proxy_pass http://backend; }
    location /forbidden/ { auth_request /auth-return-403; proxy_pass http://backend; }
    location /unauthorized/ { auth_request /auth-return-401; proxy_pass http://backend; }
    location /redirected/ { auth_request /auth-return-302; proxy_pass http://backend; }
    location /not-checked/ { auth_request /auth-denied; proxy_pass http://backend; }
    location /missing/ { auth_request /auth-missing; proxy_pass http://backend; }
    location /nowhere/ { auth_request /no-such-location; proxy_pass http://backend; }
    location /rewritten/ { auth_request /auth-rewritten; return 200 "rewritten\\n"; }
    location /upstream/ {
        auth_request /auth-upstream;
        auth_request_set $user $upstream_http_x_user;
        auth_request_set $status_seen "$upstream_status:$user";
        proxy_set_header X-User $user;
        proxy_set_header X-Seen $status_seen;
        proxy_pass http://backend;
    }
    location /login/ {
        auth_request /auth-upstream;
        error_page 401 = @login;
        proxy_pass http://backend;
    }
    location @login { return 302 /sign-in; }
    location /any/ {
        satisfy any;
        allow 127.0.0.2;
        deny all;
        auth_request /auth-return-403;
        proxy_pass http://backend;
    }
    location /any-ok/ {
        satisfy any;
        deny all;
        auth_request /auth-return-204;
        proxy_pass http://backend;
    }
    location /no-body/ { proxy_pass_request_body off; proxy_pass http://backend; }
    location /off/ {
        auth_request /auth-return-403;
        location /off/inner/ { auth_request off; proxy_pass http://backend; }
    }
"""
pair = pair_fixture(http_config(server=SERVER))


def get(path: str, *headers: bytes, source: str = "127.0.0.1") -> Conversation:
    head = b"GET %b HTTP/1.1\r\nHost: x\r\n" % path.encode()
    data = head + b"".join(h + b"\r\n" for h in headers) + b"Connection: close\r\n\r\n"
    return Conversation([data], source=source)


def answer(status: bytes, *headers: bytes) -> Reply:
    """The same answer to the auth subrequest and, when it lets the request through, to the request."""
    lines = b"".join(h + b"\r\n" for h in headers)
    return raw(b"HTTP/1.1 %b\r\n%bContent-Length: 0\r\n\r\n" % (status, lines))


USER = b"X-User: alice"
CASES = [
    Case("2xx from a return lets the request through", get("/through/x"), (200,)),
    Case("403 from the subrequest", get("/forbidden/x"), (403,)),
    Case("401 from the subrequest", get("/unauthorized/x"), (401,)),
    Case("a redirect is an unexpected status", get("/redirected/x"), (500,)),
    Case("the subrequest skips the access phase", get("/not-checked/x"), (200,)),
    Case("a subrequest whose upstream fails", get("/missing/x"), (500,)),
    Case("a subrequest to the server's location /", get("/nowhere/x"), (200,)),
    Case("a subrequest through rewrite", get("/rewritten/x"), (200,)),
    Case(
        "the auth upstream lets it through", get("/upstream/x?a=1"), (200,), reply=ok(headers=USER + b"\r\n")
    ),
    Case("the auth upstream refuses", get("/upstream/x"), (403,), reply=answer(b"403 Forbidden")),
    Case(
        "the auth upstream asks for credentials",
        get("/upstream/x"),
        (401,),
        reply=answer(b"401 Unauthorized", b'WWW-Authenticate: Basic realm="api"', USER),
    ),
    Case("the auth upstream errs", get("/upstream/x"), (500,), reply=answer(b"502 Bad Gateway")),
    Case("the auth upstream's 204", get("/upstream/x"), (204,), reply=answer(b"204 No Content", USER)),
    Case(
        "a 401 goes to the error page",
        get("/login/x"),
        (302,),
        reply=answer(b"401 Unauthorized", b'WWW-Authenticate: Bearer realm="x"'),
    ),
    Case("satisfy any, allowed by address", get("/any/x", source="127.0.0.2"), (200,)),
    Case("satisfy any, refused by both", get("/any/x", source="127.0.0.3"), (403,)),
    Case("satisfy any, allowed by the subrequest", get("/any-ok/x"), (200,)),
    Case("auth_request off inside", get("/off/inner/x"), (200,)),
    Case("inherited into the nested location's fallback", get("/off/x"), (403,)),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


@pytest.mark.parametrize("case", answer_params(CASES))
def test_error_log(pair: Pair, case: Case) -> None:
    outcome = pair.run(case)
    assert error_lines(pair, outcome.hapair) == error_lines(pair, outcome.nginx)


def post(path: str) -> Conversation:
    return Conversation(
        [b"POST %b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody" % path.encode()]
    )


def test_the_subrequest_of_a_post_has_no_body(pair: Pair) -> None:
    """nginx sends the auth subrequest the POST's `Content-Length: 4` without the body it announces: the
    auth server waits for it until a timeout. hapair sends a GET without a length, on purpose, and the
    POST's body then goes to the request's upstream (docs/nginx-differences.md)."""
    side = pair.hapair.exchange(post("/upstream/x"), ok(headers=USER + b"\r\n"))
    assert side.answer.statuses == [200]
    check, request = side.requests[:2]
    assert check.start == b"GET /check?from=/upstream/x HTTP/1.0"
    assert check.header("Content-Length") is None and check.body == b""
    assert request.start == b"POST /upstream/x HTTP/1.0"
    assert (request.header("Content-Length"), request.body) == (b"4", b"body")


def test_proxy_pass_request_body_off_sends_neither_body_nor_length(pair: Pair) -> None:
    """nginx sends the client's `Content-Length` without the body (the upstream waits, or reads the next
    request on a kept connection as this one's body); hapair sends neither, on purpose, and reads the body
    from the client all the same (docs/nginx-differences.md)."""
    side = pair.hapair.exchange(post("/no-body/x"), ok())
    assert side.answer.statuses == [200]
    request = side.requests[0]
    assert request.start == b"POST /no-body/x HTTP/1.0"
    assert (request.header("Content-Length"), request.body) == (None, b"")


def test_the_client_going_while_the_subrequest_waits_ends_the_request(pair: Pair) -> None:
    """A client that half-closes while the auth subrequest waits for its upstream: nginx takes it as the
    client leaving (the subrequest's upstream watches the client's connection), closes the auth
    connection, answers nothing and logs 499; so does hapair. Whether the auth server got the subrequest
    first is a race in nginx (its connection may be made at once), and hapair writes it at once on a kept
    connection (docs/nginx-differences.md): the auth server gets it whole or not at all. nginx's `info`
    line about the client is not written by hapair (as for its other client-side lines)."""
    conversation = Conversation(
        [b"GET /upstream/x HTTP/1.1\r\nHost: x\r\n\r\n"], half_close=True, timeout=1.0
    )
    outcome = pair.exchange(conversation, NO_ANSWER)
    for side in outcome.sides():
        assert (side.answer.raw, side.answer.closed) == (b"", True), side.name
        assert side.access == ('499 0 0 37 "GET /upstream/x HTTP/1.1" "x" -',), side.name
        assert all(request.complete for request in side.requests), side.name
        assert len(side.requests) <= 1, side.name
