"""The access-control modules beside nginx: realip, allow/deny, auth_basic with an htpasswd file of every
scheme nginx reads, satisfy, limit_except, limit_req (refusals, burst, nodelay, delays, dry run, several
zones) and limit_conn, from several client addresses (127.0.0.x). Each case compares the answer, what the
backend saw (`$remote_user`, `$limit_req_status`, `$limit_conn_status` and the realip address are sent
to it), the access-log line, and the error-log lines the case produced. The statuses in each case are
what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
from collections.abc import Iterator

import pytest

from .client import Conversation
from .harness import Case, Pair, SideResult, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE

HEADERS = (
    'proxy_set_header X-Seen "$remote_addr|$realip_remote_addr|$remote_user|$limit_req_status|'
    '$limit_conn_status";'
)
SERVER = f"""
    set_real_ip_from 127.0.0.5;
    set_real_ip_from ::1;
    real_ip_header X-Forwarded-For;
    real_ip_recursive on;
    location /rules/ {{ allow 127.0.0.2; deny 127.0.0.0/30; allow all; proxy_pass http://backend; {HEADERS} }}
    location /deny/ {{ deny all; proxy_pass http://backend; }}
    location /return/ {{ deny all; return 200 "returned before the access phase\\n"; }}
    location /realip/ {{ return 200 "$remote_addr|$realip_remote_addr|$binary_remote_addr\\n"; }}
    location /realip-port/ {{ return 200 "[$remote_port]\\n"; }}
    location /realip-rules/ {{ deny 1.2.3.4; allow all; proxy_pass http://backend; {HEADERS} }}
    location /one-header/ {{
        set_real_ip_from 127.0.0.6;
        real_ip_header X-Client;
        real_ip_recursive off;
        location /one-header/return/ {{ return 200 "$remote_addr\\n"; }}
        location /one-header/rules/ {{ deny 9.9.9.9; allow all; proxy_pass http://backend; {HEADERS} }}
    }}
    location /auth/ {{
        auth_basic "Restricted $uri";
        auth_basic_user_file htpasswd;
        proxy_pass http://backend;
        {HEADERS}
        location /auth/off/ {{ auth_basic off; proxy_pass http://backend; {HEADERS} }}
        location /auth/missing/ {{ auth_basic_user_file nosuch; proxy_pass http://backend; }}
        location /auth/variable/ {{ auth_basic_user_file $arg_file; proxy_pass http://backend; }}
    }}
    location /page/ {{
        auth_basic "page";
        auth_basic_user_file htpasswd;
        error_page 401 /signin;
        error_page 403 = @refused;
        deny 127.0.0.3;
        proxy_pass http://backend;
    }}
    location = /signin {{ return 200 "sign in\\n"; }}
    location @refused {{ return 200 "refused\\n"; }}
    location /any/ {{
        satisfy any;
        allow 127.0.0.2;
        deny all;
        auth_basic "any";
        auth_basic_user_file htpasswd;
        proxy_pass http://backend;
        {HEADERS}
    }}
    location /all/ {{
        allow 127.0.0.2;
        deny all;
        auth_basic "all";
        auth_basic_user_file htpasswd;
        proxy_pass http://backend;
        {HEADERS}
    }}
    location /except/ {{ limit_except GET {{ allow 127.0.0.2; deny all; }} proxy_pass http://backend; }}
    location /except-return/ {{
        return 200 "returned\\n";
        limit_except GET {{ allow all; }}
        proxy_pass http://backend;
    }}
    location /except-auth/ {{
        limit_except GET POST {{ auth_basic "writers"; auth_basic_user_file htpasswd; }}
        proxy_pass http://backend;
        {HEADERS}
    }}
    location /req/ {{ limit_req zone=req; proxy_pass http://backend; {HEADERS} }}
    location /req-burst/ {{ limit_req zone=req burst=2 nodelay; proxy_pass http://backend; {HEADERS} }}
    location /req-status/ {{
        limit_req zone=req;
        limit_req_status 429;
        limit_req_log_level warn;
        proxy_pass http://backend;
    }}
    location /req-dry/ {{ limit_req zone=req; limit_req_dry_run on; proxy_pass http://backend; {HEADERS} }}
    location /req-delay/ {{ limit_req zone=fast burst=5 delay=1; proxy_pass http://backend; {HEADERS} }}
    location /req-wait/ {{ limit_req zone=req burst=2; proxy_pass http://backend; }}
    location /req-two/ {{
        limit_req zone=req burst=1 nodelay;
        limit_req zone=other;
        proxy_pass http://backend;
        {HEADERS}
    }}
    location /conn/ {{ limit_conn conn 1; proxy_pass http://backend; {HEADERS} }}
    location /capa/ {{ limit_req zone=capa; proxy_pass http://backend; }}
    location /capb/ {{ limit_req zone=capb; proxy_pass http://backend; }}
    location /capc/ {{ limit_req zone=capc; proxy_pass http://backend; }}
"""
HTTP = """
    limit_req_zone $arg_k zone=req:64k rate=1r/m;
    limit_req_zone $arg_k zone=other:64k rate=1r/m;
    limit_req_zone $arg_k zone=fast:64k rate=20r/s;
    limit_conn_zone $arg_k zone=conn:64k;
    limit_req_zone $arg_k zone=capa:32k rate=1r/m;
    limit_req_zone $arg_k zone=capb:32k rate=1r/m;
    limit_req_zone $arg_k zone=capc:32k rate=1r/m;
"""
pair = pair_fixture(http_config(main="user root;", http=HTTP, server=SERVER))

PASSWORD = b"s3cret"
SALT = b"pepper!!"


def _openssl(*args: str) -> bytes:
    return subprocess.run(["openssl", "passwd", *args], capture_output=True, check=True).stdout.strip()


def htpasswd() -> bytes:
    """A user file with every scheme nginx reads, comments, blank lines and the lines nginx's reader
    skips (a CR first, a user that is a prefix of another, a line that ends where a user is compared)."""
    sha = base64.b64encode(hashlib.sha1(PASSWORD).digest())
    ssha = base64.b64encode(hashlib.sha1(PASSWORD + SALT).digest() + SALT)
    return b"".join(
        [
            b"# a comment\n",
            b"\n",
            b"plain:{PLAIN}" + PASSWORD + b"\n",
            b"sha:{SHA}" + sha + b"\n",
            b"ssha:{SSHA}" + ssha + b":a comment field\n",
            b"apr:" + _openssl("-apr1", "-salt", "abcdefgh", PASSWORD.decode()) + b"\n",
            b"md5:" + _openssl("-1", "-salt", "saltsalt", PASSWORD.decode()) + b"\n",
            b"sha256:" + _openssl("-5", "-salt", "saltsalt", PASSWORD.decode()) + b"\r\n",
            b"sha512:" + _openssl("-6", "-salt", "saltsalt", PASSWORD.decode()) + b"\n",
            b"\rcr:{PLAIN}" + PASSWORD + b"\n",
            b"prefixed:{PLAIN}other\n",
            b"pre\n",
            b"swallowed:{PLAIN}" + PASSWORD + b"\n",
            b"swal\n",
            b"swallowed2:{PLAIN}" + PASSWORD + b"\n",
            b"last:{PLAIN}" + PASSWORD,
        ]
    )


@pytest.fixture(scope="module", autouse=True)
def user_files(pair: Pair) -> Iterator[None]:
    for side in (pair.nginx, pair.hapair):
        (side.directory / "htpasswd").write_bytes(htpasswd())
        (side.directory / "other").write_bytes(b"other:{PLAIN}x\n")
    yield


def get(path: str, *headers: bytes, method: bytes = b"GET", source: str = "127.0.0.1") -> Conversation:
    head = b"%b %b HTTP/1.1\r\nHost: x\r\n" % (method, path.encode())
    body = b"Content-Length: 2\r\n" if method == b"POST" else b""
    data = head + b"".join(h + b"\r\n" for h in headers) + body + b"Connection: close\r\n\r\n"
    return Conversation([data + (b"ok" if method == b"POST" else b"")], source=source)


def pipelined(*paths: str, source: str = "127.0.0.1") -> Conversation:
    """Requests on one connection, sent at once: a rate limit sees them within a few milliseconds."""
    heads = [b"GET %b HTTP/1.1\r\nHost: x\r\n\r\n" % path.encode() for path in paths[:-1]]
    heads.append(b"GET %b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % paths[-1].encode())
    return Conversation([b"".join(heads)], source=source, timeout=5.0)


def basic(user: bytes, password: bytes = PASSWORD) -> bytes:
    return b"Authorization: Basic " + base64.b64encode(user + b":" + password)


def xff(value: bytes) -> bytes:
    return b"X-Forwarded-For: " + value


CASES = [
    # allow / deny: the first rule of the client's family that matches
    Case("allowed by address", get("/rules/", source="127.0.0.2"), (200,)),
    Case("denied by a block", get("/rules/", source="127.0.0.1"), (403,)),
    Case("denied by a block, other address", get("/rules/", source="127.0.0.3"), (403,)),
    Case("allowed by all", get("/rules/", source="127.0.0.4"), (200,)),
    Case("deny all", get("/deny/"), (403,)),
    Case("return comes before the access phase", get("/return/"), (200,)),
    # realip: post-read, with the server's settings
    Case("realip, one trusted hop", get("/realip/", xff(b"1.2.3.4"), source="127.0.0.5"), (200,)),
    Case(
        "realip, recursive through trusted addresses",
        get("/realip/", xff(b"10.0.0.1, 1.2.3.4,127.0.0.5 , 127.0.0.5"), source="127.0.0.5"),
        (200,),
    ),
    Case(
        "realip, two headers walked from the last",
        get("/realip/", xff(b"8.8.8.8"), xff(b"127.0.0.5"), source="127.0.0.5"),
        (200,),
    ),
    Case("realip, IPv6 from the header", get("/realip/", xff(b"2001:db8::1"), source="127.0.0.5"), (200,)),
    Case("realip, IPv4-mapped", get("/realip/", xff(b"::ffff:1.2.3.4"), source="127.0.0.5"), (200,)),
    Case("realip, not an address", get("/realip/", xff(b"unknown"), source="127.0.0.5"), (200,)),
    Case("realip, an empty list", get("/realip/", xff(b", ,"), source="127.0.0.5"), (200,)),
    Case("realip, untrusted client", get("/realip/", xff(b"1.2.3.4"), source="127.0.0.1"), (200,)),
    Case("realip, with a port", get("/realip-port/", xff(b"1.2.3.4:5678"), source="127.0.0.5"), (200,)),
    Case("realip, IPv6 with a port", get("/realip-port/", xff(b"[::2]:80"), source="127.0.0.5"), (200,)),
    Case("realip, without a port", get("/realip-port/", xff(b"1.2.3.4"), source="127.0.0.5"), (200,)),
    Case("realip, a bad port", get("/realip/", xff(b"1.2.3.4:0"), source="127.0.0.5"), (200,)),
    Case("realip address denied", get("/realip-rules/", xff(b"1.2.3.4"), source="127.0.0.5"), (403,)),
    Case("realip address allowed", get("/realip-rules/", xff(b"1.2.3.5"), source="127.0.0.5"), (200,)),
    # realip in a location: pre-access, after the location's rewrite directives
    Case(
        "location realip comes after return",
        get("/one-header/return/", b"X-Client: 9.9.9.9", source="127.0.0.6"),
        (200,),
    ),
    Case(
        "location realip before the rules",
        get("/one-header/rules/", b"X-Client: 9.9.9.9", source="127.0.0.6"),
        (403,),
    ),
    Case(
        "location realip, first header only",
        get("/one-header/rules/", b"X-Client: 8.8.8.8", b"X-Client: 9.9.9.9", source="127.0.0.6"),
        (200,),
    ),
    Case(
        "location realip, not recursive",
        get("/one-header/rules/", b"X-Client: 9.9.9.9, 127.0.0.6", source="127.0.0.6"),
        (200,),
    ),
    # auth_basic
    Case("no credentials", get("/auth/"), (401,)),
    *(
        Case(f"user {user}", get("/auth/", basic(user.encode())), (200,))
        for user in ("plain", "sha", "ssha", "apr", "md5", "sha256", "sha512", "last")
    ),
    *(
        Case(f"user {user}, wrong password", get("/auth/x", basic(user.encode(), b"bad")), (401,))
        for user in ("plain", "ssha", "apr", "sha512")
    ),
    Case("unknown user", get("/auth/", basic(b"nobody")), (401,)),
    Case("a line starting with CR is skipped", get("/auth/", basic(b"cr")), (401,)),
    Case("a user prefix of another", get("/auth/", basic(b"prefixed", b"other")), (200,)),
    Case("a user after a line that is not its prefix", get("/auth/", basic(b"swallowed")), (200,)),
    Case("a line that is a prefix of the user hides the next", get("/auth/", basic(b"swallowed2")), (401,)),
    Case("a user ending at the prefix", get("/auth/", basic(b"pre")), (401,)),
    Case("a comment line as user", get("/auth/", basic(b"# a comment")), (401,)),
    Case(
        "lower-case scheme, spaces", get("/auth/", b"Authorization: basic    " + basic(b"plain")[21:]), (200,)
    ),
    Case("base64 stops at =", get("/auth/", basic(b"plain") + b"=ignored!"), (200,)),
    Case("not base64", get("/auth/", b"Authorization: Basic !!!!"), (401,)),
    Case("no colon", get("/auth/", b"Authorization: Basic " + base64.b64encode(b"plain")), (401,)),
    Case("empty user", get("/auth/", b"Authorization: Basic " + base64.b64encode(b":x")), (401,)),
    Case("another scheme", get("/auth/", b"Authorization: Bearer abc"), (401,)),
    Case("auth_basic off", get("/auth/off/"), (200,)),
    Case("user file missing", get("/auth/missing/", basic(b"plain")), (403,)),
    Case("user file from a variable", get("/auth/variable/?file=other", basic(b"other", b"x")), (200,)),
    Case("HEAD with credentials", get("/auth/", basic(b"sha"), method=b"HEAD"), (200,)),
    Case("an error page for 401 keeps WWW-Authenticate", get("/page/"), (401,)),
    Case("an error page for 403", get("/page/", source="127.0.0.3"), (200,)),
    # satisfy
    Case("any: allowed by address", get("/any/", source="127.0.0.2"), (200,)),
    Case("any: no credentials", get("/any/"), (401,)),
    Case("any: credentials", get("/any/", basic(b"plain")), (200,)),
    Case("any: wrong password", get("/any/", basic(b"plain", b"bad")), (401,)),
    Case("all: allowed address, no credentials", get("/all/", source="127.0.0.2"), (401,)),
    Case("all: allowed address and credentials", get("/all/", basic(b"apr"), source="127.0.0.2"), (200,)),
    Case("all: denied address with credentials", get("/all/", basic(b"apr")), (403,)),
    # limit_except
    Case("limit_except, GET", get("/except/"), (200,)),
    Case("limit_except, HEAD with GET", get("/except/", method=b"HEAD"), (200,)),
    Case("limit_except, POST denied", get("/except/", method=b"POST"), (403,)),
    Case("limit_except, POST allowed", get("/except/", method=b"POST", source="127.0.0.2"), (200,)),
    Case("limit_except, DELETE", get("/except/", method=b"DELETE", source="127.0.0.2"), (200,)),
    Case("limit_except, unknown method", get("/except/", method=b"PURGE"), (403,)),
    Case("limit_except skips the location's return, GET", get("/except-return/"), (200,)),
    Case("limit_except skips the location's return, PUT", get("/except-return/", method=b"PUT"), (200,)),
    Case("limit_except with auth, GET", get("/except-auth/"), (200,)),
    Case("limit_except with auth, PUT", get("/except-auth/", method=b"PUT"), (401,)),
    Case("limit_except with auth, PUT with user", get("/except-auth/", basic(b"md5"), method=b"PUT"), (200,)),
    # limit_req: keys from ?k=, one per case; two requests at once at 1r/m
    Case("limit_req, second refused", pipelined("/req/?k=a", "/req/?k=a"), (200, 503)),
    Case("limit_req, no key is no limit", pipelined("/req/", "/req/", "/req/"), (200, 200, 200)),
    Case("limit_req, keys apart", pipelined("/req/?k=b", "/req/?k=c"), (200, 200)),
    Case(
        "limit_req, burst nodelay",
        pipelined("/req-burst/?k=d", "/req-burst/?k=d", "/req-burst/?k=d", "/req-burst/?k=d"),
        (200, 200, 200, 503),
    ),
    Case("limit_req, status and level", pipelined("/req-status/?k=e", "/req-status/?k=e"), (200, 429)),
    Case("limit_req, dry run", pipelined("/req-dry/?k=f", "/req-dry/?k=f"), (200, 200)),
    Case(
        "limit_req, two zones",
        pipelined("/req-two/?k=g", "/req-two/?k=g", "/req-two/?k=g"),
        (200, 503, 503),
    ),
]
# A 32 KiB zone holds 191 states of short keys (nginx's slab pool: 7 pages of 32 nodes of 128 bytes, less
# the zone's own two allocations); the oldest goes when a new key finds no room, unless the new key needs a
# larger node than the freed one (then nginx cannot allocate it).
SMALL_KEYS = 191
CAPACITY_CASES = [
    Case(
        "limit_req, a full zone keeps its states",
        pipelined("/capa/?k=first", *(f"/capa/?k=o{i}" for i in range(1, SMALL_KEYS)), "/capa/?k=first"),
        (200,) * SMALL_KEYS + (503,),
    ),
    Case(
        "limit_req, a new key drops the least recently used state",
        pipelined("/capb/?k=first", *(f"/capb/?k=o{i}" for i in range(1, SMALL_KEYS + 1)), "/capb/?k=first"),
        (200,) * (SMALL_KEYS + 2),
    ),
    Case(
        "limit_req, no room for a longer key",
        pipelined(*(f"/capc/?k=o{i}" for i in range(SMALL_KEYS)), "/capc/?k=" + "L" * 100),
        (200,) * SMALL_KEYS + (503,),
    ),
]
CASES += CAPACITY_CASES

DELAYED = Case(
    "limit_req, delayed past delay=",
    pipelined("/req-delay/?k=h", "/req-delay/?k=h", "/req-delay/?k=h"),
    (200, 200, 200),
)


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


@pytest.mark.parametrize("case", answer_params(CASES))
def test_error_log(pair: Pair, case: Case) -> None:
    """The same lines; a case that takes a while (hundreds of requests) has the excess rounded to a whole
    request: its thousandths count the milliseconds it took (with rate=1r/m, 1.000 when it took less than
    one, 0.999 after one)."""
    outcome = pair.run(case)
    fraction = case not in CAPACITY_CASES
    assert error_lines(pair, outcome.hapair, fraction=fraction) == error_lines(
        pair, outcome.nginx, fraction=fraction
    )


_STAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (\[\w+\]) \d+#\d+: (?:\*\d+ )?")


def error_lines(pair: Pair, side: SideResult, *, fraction: bool = True) -> list[str]:
    """The case's error-log lines without their time, pid and connection number, the side's own
    directory named DIR; an excess rounded to a whole request when `fraction` is false."""
    directory = str((pair.nginx if side.name == "nginx" else pair.hapair).directory)
    lines = []
    for line in side.errors.splitlines():
        match = _STAMP.match(line)
        assert match is not None, line
        text = f"{match.group(1)} {line[match.end() :]}".replace(directory, "DIR")
        if not fraction:
            text = re.sub(r"excess: (\d+\.\d{3})", lambda m: f"excess: ~{round(float(m[1]))}", text)
        lines.append(text)
    return lines


def test_a_delayed_request_waits_and_passes(pair: Pair) -> None:
    """With `delay=1`, the third request of three sent at once waits for its excess to drain: the same
    answers, backend requests, log lines (the excess's thousandths left out: they depend on how long the
    proxy took between the requests) and `$limit_req_status` (DELAYED) on both."""
    check_answer(pair, DELAYED)
    check_log(pair, DELAYED)
    outcome = pair.run(DELAYED)
    nginx = error_lines(pair, outcome.nginx, fraction=False)
    assert error_lines(pair, outcome.hapair, fraction=False) == nginx
    assert any("delaying request" in line for line in nginx)


def test_a_client_that_goes_while_its_request_is_delayed_ends_it(pair: Pair) -> None:
    """The second request of a key at 1r/m waits a minute (burst=2, no nodelay); its client half-closes:
    nginx's reading test sees the client gone and ends the request with 499, nothing answered and
    nothing sent upstream; so does hapair."""
    first = pair.exchange(b"GET /req-wait/?k=half HTTP/1.0\r\n\r\n")
    assert [side.answer.statuses for side in first.sides()] == [[200], [200]]
    waiting = Conversation(
        [b"GET /req-wait/?k=half HTTP/1.1\r\nHost: x\r\n\r\n"], half_close=True, timeout=3.0
    )
    outcome = pair.exchange(waiting)
    for side in outcome.sides():
        assert (side.answer.raw, side.answer.closed) == (b"", True), side.name
        assert side.access == ('499 0 0 43 "GET /req-wait/?k=half HTTP/1.1" "x" -',), side.name
        assert side.requests == [], side.name
