"""What the proxy does with an upstream's response, through nginx and hapair: `proxy_redirect` (the
default, `off`, prefixes with variables, regular expressions, several rules, on Location and Refresh),
the headers hidden and passed (`proxy_hide_header`, `proxy_pass_header`), `proxy_intercept_errors`
with `error_page`, a response head larger than `proxy_buffer_size`, and `proxy_buffering` with a client
slower than its upstream. The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import compare
from .backend import Reply, raw
from .client import Conversation
from .harness import Case, Pair, Side, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params
from .wire import Message, parse_responses

pytestmark = ORACLE
WAIT_S = 10.0
TEMP = "@TEMP@"  # the temporary files' directory, in the configuration


def _location(path: str, directives: str, target: str = "http://backend") -> str:
    return f"location {path} {{ proxy_pass {target}; {directives} }}"


SERVER = "\n".join(
    [
        "port_in_redirect off;",
        _location("/uri/", "", "http://backend/app/"),
        _location("/off/", "proxy_redirect off;"),
        _location(
            "/rules/",
            "proxy_redirect http://a.example/ /a/; proxy_redirect ~^http://b\\.example/(.*)$ /b/$1; "
            "proxy_redirect ~*^HTTP://C\\.example/(?<rest>.*)$ /c/$rest; "
            "proxy_redirect http://$host/ /self/;",
        ),
        _location("/hide/", "proxy_hide_header X-Secret; proxy_pass_header X-Accel-Expires;"),
        _location(
            "/cookies/",
            "proxy_cookie_domain backend.example $host; "
            "proxy_cookie_domain ~^(?<sub>.+)\\.corp$ $sub.example; "
            "proxy_cookie_path /app/ /; proxy_cookie_path ~*^/ADMIN(.*)$ /admin$1; "
            "proxy_cookie_flags session secure httponly samesite=lax; "
            "proxy_cookie_flags ~^tmp nosecure nohttponly nosamesite;",
        ),
        _location("/pass/", "proxy_pass_header Server; proxy_pass_header Date;"),
        _location(
            "/intercept/",
            "proxy_intercept_errors on; error_page 404 /page404; error_page 401 /page401; "
            "error_page 500 =200 /ok; error_page 502 @named; error_page 409 /internal-proxied/409;",
        ),
        "location = /page404 { return 404 'custom 404 page'; }",
        "location = /page401 { return 401 'log in first'; }",
        "location = /ok { return 200 'fine'; }",
        "location @named { return 503 'named'; }",
        _location("/smallhead/", "proxy_buffer_size 1k;"),
        _location("/noaccel/", "proxy_ignore_headers X-Accel-Redirect;"),
        "location /internal/ { internal; return 200 'internal page'; }",
        _location("/internal-proxied/", "internal;"),
        "location @accel { return 200 'named'; }",
        _location("/failing/", "error_page 502 /internal-proxied/after-failure;", "http://127.0.0.1:9"),
        _location("/slow/", f"proxy_temp_path {TEMP}/proxy;"),
        _location("/method/", "proxy_method $arg_m;"),
        _location("/noheaders/", "proxy_pass_request_headers off; proxy_set_header X-Set 1;"),
        _location("/unbuffered/", "proxy_buffering off;"),
    ]
)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """nginx and hapair on SERVER, with a directory for their temporary files that their workers (nobody)
    can reach."""
    temp = Path(tempfile.mkdtemp(prefix="hapair-diff-"))
    temp.chmod(0o755)
    running = Pair(tmp_path_factory.mktemp("pair"), http_config(server=SERVER.replace(TEMP, str(temp))))
    yield running
    running.close()
    shutil.rmtree(temp)


def get(path: bytes = b"/") -> bytes:
    return b"GET %b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path


def answer(*headers: bytes, status: bytes = b"302 Found", body: bytes = b"") -> Reply:
    lines = b"".join(header + b"\r\n" for header in headers)
    return raw(b"HTTP/1.1 %b\r\n%bContent-Length: %d\r\n\r\n%b" % (status, lines, len(body), body))


def cookie(name: str, value: bytes) -> Case:
    return Case(name, get(b"/cookies/"), (200,), reply=answer(b"Set-Cookie: " + value, status=b"200 OK"))


CASES = [
    # proxy_redirect default
    Case("default: proxy_pass URL", get(), (302,), reply=answer(b"Location: http://backend/next")),
    Case("default: the URL without its slash", get(), (302,), reply=answer(b"Location: http://backend")),
    Case("default: relative Location", get(), (302,), reply=answer(b"Location: /relative")),
    Case("default: other host", get(), (302,), reply=answer(b"Location: http://elsewhere/x")),
    Case("default: case matters", get(), (302,), reply=answer(b"Location: HTTP://backend/next")),
    Case("default: empty Location", get(), (302,), reply=answer(b"Location: ")),
    Case(
        "default: two Locations",
        get(),
        (302,),
        reply=answer(b"Location: http://backend/one", b"Location: http://backend/two"),
    ),
    Case("default with a URI", get(b"/uri/"), (302,), reply=answer(b"Location: http://backend/app/y")),
    Case(
        "default with a URI, outside it", get(b"/uri/"), (302,), reply=answer(b"Location: http://backend/z")
    ),
    Case("default: on a 200", get(), (200,), reply=answer(b"Location: http://backend/n", status=b"200 OK")),
    Case(
        "default: Refresh", get(), (200,), reply=answer(b"Refresh: 5; URL=http://backend/z", status=b"200 OK")
    ),
    Case("default: Refresh without url", get(), (200,), reply=answer(b"Refresh: 5", status=b"200 OK")),
    Case("off", get(b"/off/"), (302,), reply=answer(b"Location: http://backend/next")),
    # rules
    Case("prefix rule", get(b"/rules/"), (302,), reply=answer(b"Location: http://a.example/p")),
    Case("regex rule", get(b"/rules/"), (302,), reply=answer(b"Location: http://b.example/q?x=1")),
    Case(
        "caseless regex, named capture",
        get(b"/rules/"),
        (302,),
        reply=answer(b"Location: http://c.EXAMPLE/r"),
    ),
    Case("rule with a variable", get(b"/rules/"), (302,), reply=answer(b"Location: http://x/s")),
    Case("no rule matches", get(b"/rules/"), (302,), reply=answer(b"Location: http://d.example/")),
    Case(
        "rules replace the default", get(b"/rules/"), (302,), reply=answer(b"Location: http://backend/next")
    ),
    Case(
        "Refresh, rule",
        get(b"/rules/"),
        (200,),
        reply=answer(b"Refresh: 0;url=http://a.example/z", status=b"200 OK"),
    ),
    # headers hidden and passed
    Case(
        "hidden and passed",
        get(b"/hide/"),
        (200,),
        reply=answer(b"X-Secret: 1", b"X-Accel-Expires: 10", b"X-Pad: y", b"X-Kept: 2", status=b"200 OK"),
    ),
    Case(
        "nginx's hidden headers",
        get(),
        (200,),
        reply=answer(
            b"X-Pad: 1",
            b"X-Accel-Expires: 1",
            b"X-Accel-Limit-Rate: 1000000",
            b"X-Accel-Charset: utf-8",
            b"Keep-Alive: timeout=5",
            b"X-Kept: 2",
            status=b"200 OK",
            body=b"body",
        ),
    ),
    # proxy_cookie_*
    cookie("domain and path", b"a=1; Domain=backend.example; Path=/app/x"),
    cookie("domain in any case, with its dot", b"a=1; domain=.BACKEND.example"),
    cookie("domain by a regular expression", b"a=1;Domain=web.corp"),
    cookie("path by a caseless regular expression", b"a=1; Path=/Admin/p"),
    cookie("flags added", b"session=s; Path=/"),
    cookie("SameSite changed", b"session=s; secure; SameSite=Strict; Max-Age=10"),
    cookie("flags removed", b"tmp1=x; Secure; HttpOnly; SameSite=None; Path=/other"),
    cookie("nothing to change", b"other=x;  Domain=none.example ; Path=/p"),
    cookie("not a cookie", b"noequals; Domain=backend.example"),
    cookie("empty parts", b"a=1;; Domain=backend.example"),
    Case(
        "two cookies",
        get(b"/cookies/"),
        (200,),
        reply=answer(b"Set-Cookie: a=1; Path=/app/", b"Set-Cookie: session=2", status=b"200 OK"),
    ),
    # proxy_intercept_errors
    Case(
        "intercepted 404",
        get(b"/intercept/"),
        (404,),
        reply=answer(status=b"404 Not Found", body=b"upstream's"),
    ),
    Case(
        "intercepted 401 keeps its challenge",
        get(b"/intercept/"),
        (401,),
        reply=answer(b'WWW-Authenticate: Basic realm="x"', b"X-A: 1", status=b"401 Unauthorized", body=b"no"),
    ),
    Case(
        "intercepted 500 answered 200",
        get(b"/intercept/"),
        (200,),
        reply=answer(status=b"500 Oops", body=b"x"),
    ),
    Case("intercepted 502 to a named location", get(b"/intercept/"), (502,), reply=answer(status=b"502 Bad")),
    Case(
        "403 without an error_page",
        get(b"/intercept/"),
        (403,),
        reply=answer(status=b"403 No", body=b"upstream"),
    ),
    Case("200 is not intercepted", get(b"/intercept/"), (200,), reply=answer(status=b"200 OK", body=b"fine")),
    Case(
        "404 without intercept_errors",
        get(),
        (404,),
        reply=answer(status=b"404 Not Found", body=b"upstream's"),
    ),
    # X-Accel-Redirect
    Case(
        "X-Accel-Redirect",
        get(b"/accel"),
        (200,),
        reply=answer(
            b"X-Accel-Redirect: /internal/page",
            b"Content-Type: text/x-custom",
            b"Set-Cookie: a=b",
            b"Cache-Control: private",
            b"X-Other: 1",
            status=b"200 OK",
            body=b"the upstream's body",
        ),
    ),
    Case(
        "X-Accel-Redirect with arguments", get(), (200,), reply=answer(b"X-Accel-Redirect: /internal/p?a=1")
    ),
    Case("X-Accel-Redirect escaped", get(), (200,), reply=answer(b"X-Accel-Redirect: /internal/p%61ge")),
    Case("X-Accel-Redirect named", get(), (200,), reply=answer(b"X-Accel-Redirect: @accel")),
    Case("X-Accel-Redirect unsafe", get(), (404,), reply=answer(b"X-Accel-Redirect: /internal/../x")),
    Case(
        "X-Accel-Redirect unsafe once decoded", get(), (404,), reply=answer(b"X-Accel-Redirect: /a/%2e%2e/x")
    ),
    Case("X-Accel-Redirect nowhere", get(), (500,), reply=answer(b"X-Accel-Redirect: @nosuch")),
    Case(
        "X-Accel-Redirect of a HEAD",
        Conversation([get().replace(b"GET", b"HEAD")], head_request=True),
        (200,),
        reply=answer(b"X-Accel-Redirect: /internal/p"),
    ),
    Case(
        "X-Accel-Redirect ignored",
        get(b"/noaccel/"),
        (200,),
        reply=answer(b"X-Accel-Redirect: /internal/p", status=b"200 OK", body=b"upstream"),
    ),
    # the request sent: proxy_method, proxy_pass_request_headers
    Case("proxy_method", get(b"/method/?m=PUT"), (200,), reply=answer(status=b"200 OK", body=b"put")),
    Case(
        "proxy_method on a POST",
        b"POST /method/?m=PATCH HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
        (200,),
        reply=answer(status=b"200 OK", body=b"patched"),
    ),
    Case(
        "proxy_method HEAD",
        get(b"/method/?m=HEAD"),
        (200,),
        reply=raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ),
    Case(
        "proxy_pass_request_headers off",
        b"GET /noheaders/ HTTP/1.1\r\nHost: x\r\nX-Client: 1\r\nCookie: c=1\r\nConnection: close\r\n\r\n",
        (200,),
        reply=answer(status=b"200 OK", body=b"ok"),
    ),
    # proxy_buffer_size
    Case(
        "head just within proxy_buffer_size",
        get(b"/smallhead/"),
        (200,),
        reply=answer(b"X-Big: " + b"a" * 900, status=b"200 OK", body=b"ok"),
    ),
    Case(
        "head larger than proxy_buffer_size",
        get(b"/smallhead/"),
        (502,),
        reply=answer(b"X-Big: " + b"a" * 1100, status=b"200 OK", body=b"ok"),
    ),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


def test_x_accel_redirect_to_a_proxied_location(pair: Pair) -> None:
    """The request the redirect leads to goes to the upstream as a GET, without the body, and its
    response gets what the first one lends (Set-Cookie); its own Content-Type wins."""

    def script(request: Message) -> Reply:
        if request.target.startswith(b"/internal-proxied/"):
            return answer(b"Content-Type: text/second", status=b"200 OK", body=b"second")
        return answer(b"X-Accel-Redirect: /internal-proxied/x?y=1", b"Set-Cookie: s=1", b"Content-Type: a/b")

    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
    outcome = pair.exchange(data, script)
    assert outcome.nginx.answer.statuses == [200]
    compare.assert_same_answer(outcome)
    compare.assert_same_upstream(outcome)
    compare.assert_same_log(outcome)  # $upstream_status "302 : 200": a redirect between the two


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(b"/intercept/", id="an intercepted error"),
        pytest.param(b"/failing/", id="an upstream that failed"),
    ],
)
def test_an_error_page_proxied_again_gets_the_request_body_read_before(pair: Pair, path: bytes) -> None:
    """The body read whole for the first upstream is the request's: the upstream of the error page gets
    it too (as a GET), as nginx sends it."""

    def script(request: Message) -> Reply:
        if request.target.startswith(b"/internal-proxied/"):
            return answer(b"Content-Type: text/plain", status=b"200 OK", body=b"error page")
        return answer(status=b"409 Conflict", body=b"upstream's 409")

    data = b"POST %b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody" % path
    outcome = pair.exchange(data, script)
    assert outcome.nginx.answer.statuses == [409 if path == b"/intercept/" else 502]
    assert [request.target for request in outcome.nginx.requests][-1].startswith(b"/internal-proxied/")
    compare.assert_same_answer(outcome)
    compare.assert_same_upstream(outcome)
    compare.assert_same_log(outcome)


def test_an_unsafe_x_accel_redirect_is_logged_as_nginx_logs_it(pair: Pair) -> None:
    outcome = pair.exchange(get(), answer(b"X-Accel-Redirect: /internal/../x"))
    for side in outcome.sides():
        assert 'unsafe URI "/internal/../x" was detected' in side.errors, side.name


def test_too_big_a_head_is_logged_as_nginx_logs_it(pair: Pair) -> None:
    outcome = pair.exchange(get(b"/smallhead/"), answer(b"X-Big: " + b"a" * 1100, status=b"200 OK"))
    for side in outcome.sides():
        assert "upstream sent too big header while reading response header from upstream" in side.errors


def test_passed_server_and_date_replace_the_proxy_s(pair: Pair) -> None:
    """`proxy_pass_header Server` and `Date`: the upstream's, and not the proxy's (the wire comparison
    leaves both out, as they differ between the two)."""
    reply = answer(b"Server: upstream/1", b"Date: Thu, 01 Jan 2015 00:00:00 GMT", status=b"200 OK")
    outcome = pair.exchange(get(b"/pass/"), reply)
    for side in outcome.sides():
        (response,) = side.answer.responses
        assert response.header_values("server") == [b"upstream/1"], side.name
        assert response.header_values("date") == [b"Thu, 01 Jan 2015 00:00:00 GMT"], side.name


BIG = b"".join(b"%07d 0123456789abcdefghijklmnopqrstuvwxyz\n" % n for n in range(700_000))  # 33 MB


def test_a_slow_client_does_not_hold_a_buffered_upstream_back(pair: Pair) -> None:
    """With `proxy_buffering on` the upstream sends its whole response and is done with while the client
    has read nothing: what the client cannot take yet waits in a temporary file in `proxy_temp_path`
    (made by each at start for its workers), which a warning names, with nginx's context (the file's
    name and the upstream's port differ). The client then gets the response whole. (Debian's default
    /var/lib/nginx/proxy is not used here: the real nginx of other tests gives it to other users.)"""
    warnings = [_slow_client(side, b"/slow/") for side in (pair.nginx, pair.hapair)]
    assert warnings[0] == warnings[1]


def _slow_client(side: Side, path: bytes) -> str:
    """Run the case on one side; its warning, without what differs."""
    backend = side.backend
    errors_before = len(side.error_path.read_bytes()) if side.error_path.exists() else 0
    mark = backend.mark()
    backend.script = lambda _: raw(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BIG), BIG, close=True
    )
    with socket.socket() as client:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.settimeout(WAIT_S)
        client.connect(("127.0.0.1", side.port))
        client.sendall(get(path))
        number = _connection_of(side, mark.requests, path)
        backend.wait_until(
            lambda: backend.connections[number].closed is not None, WAIT_S, "the backend's close"
        )
        errors = side.error_path.read_bytes()[errors_before:].decode("latin-1")
        (response,), _ = parse_responses(_read_all(client))
    assert response.body == BIG, side.name
    line = next((line for line in errors.splitlines() if "buffered to a temporary file" in line), "")
    assert line, f"{side.name}: no warning in {errors!r}"
    line = line.split("] ", 1)[1].split(" ", 2)[2]  # from after "PID#TID: *N "
    line = re.sub(r"file \S+ while", "file FILE while", line)
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)


def _connection_of(side: Side, since: int, path: bytes) -> int:
    """The backend connection the request for `path` came on."""
    backend = side.backend

    def requested() -> bool:
        return any(received.message.target == path for received in backend.requests[since:])

    backend.wait_until(requested, WAIT_S, "the request to reach the backend")
    return next(
        received.connection for received in backend.requests[since:] if received.message.target == path
    )


def _read_all(sock: socket.socket) -> bytes:
    received = bytearray()
    while data := sock.recv(1 << 20):
        received += data
    return bytes(received)
