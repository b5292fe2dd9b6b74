"""The rewrite module and the core's redirections on the wire: `rewrite` (last, break, redirect,
permanent, arguments kept or dropped), `return` (text, redirects, codes with and without a page, 444),
`set`, `if` (variables, comparisons, regular expressions and their captures, in a server and a
location), `error_page` (a URI, a named location, a URL, `=code`, `=`), `internal`, the cycle limit, and
nginx's 301 to a proxied location's name with its slash. The statuses are what nginx 1.22.1 answers."""

from __future__ import annotations

import pytest

from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE

SERVER = r"""
        server_name example.com;
        default_type text/plain;
        rewrite ^/old/(.*)$ /new/$1 permanent;
        if ($arg_srv = stop) { return 403; }
        set $who world;
        location /hello { return 200 "hello $who $uri $args\n"; }
        location /json/ { return 200 '{"a":1}'; }
        location = /x.json { return 200 '{"b":2}'; }
        location /r1 { rewrite ^/r1/(.*)$ /json/$1 last; }
        location /r2 {
            rewrite ^/r2/(.*)$ /r2b/$1?x=1; rewrite ^/r2b/(.*) /final/$1 break; return 200 "r2 $uri $args\n";
        }
        location /r3 { rewrite ^ /r3?; return 200 "r3 [$args]\n"; }
        location /r4 { rewrite ^/r4(.*)$ http://other.example$1; }
        location /r5 { rewrite ^/r5(.*)$ /r5$1 last; }
        location /r6 { rewrite ^/r6/(.*)$ /r6/$1; }
        location /pb { rewrite ^/pb(.*)$ /changed$1 break; proxy_pass http://backend/base/; }
        location /iff {
            if ($arg_a) { return 201 "yes\n"; }
            if ($arg_b ~ ^(\d+)$) { return 202 "num $1\n"; }
            return 200 "no\n";
        }
        location /ifp { if ($arg_a) { set $z 1; } proxy_pass http://backend; }
        location /err { error_page 404 /json/err; return 404; }
        location /err2 { error_page 404 =200 @named; return 404; }
        location /err3 { error_page 404 https://example.org/nf; return 404; }
        location /err4 { error_page 502 = /json/e4; proxy_pass http://127.0.0.1:1; }
        location @named { return 200 "named $uri\n"; }
        location /int { internal; return 200 "int\n"; }
        location /toint { error_page 404 /int; return 404; }
        location /api/ { proxy_pass http://backend; }
        location /ret { return 301 /somewhere; }
        location /ret2 { return 302; }
        location /ret3 { return 204; }
        location /ret4 { return 444; }
        location /ret5 { return 499; }
        location /ret6 { return 418; }
        location /ret7 { return 200; }
        location /nocache { return 200 "[$upstream_cache_status]"; }
"""
pair = pair_fixture(http_config(server=SERVER, http="types { text/html html; application/json json; }"))


def get(target: str) -> bytes:
    return b"GET %b HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n" % target.encode()


CASES = [
    Case("return with variables", get("/hello/a?x=1"), (200,)),
    Case("a server's rewrite, permanent, with the arguments", get("/old/foo?q=1"), (301,)),
    Case("a server's if", get("/hello?srv=stop"), (403,)),
    Case("return's type from the URI's extension", get("/x.json"), (200,)),
    Case("rewrite last finds the location again", get("/r1/z"), (200,)),
    # break ends the rewrite directives before `return`: the new URI is served as a file from the default
    # root (403: the worker cannot read the test's prefix)
    Case("rewrite with arguments, then break", get("/r2/z?o=1"), (403,)),
    Case("rewrite ending with ? drops the arguments", get("/r3?a=1"), (200,)),
    Case("rewrite to a URL redirects", get("/r4/q?z=2"), (302,)),
    Case("rewrite last in a loop: 500 after 10", get("/r5/x"), (500,)),
    Case("rewrite without a flag in a loop", get("/r6/x"), (500,)),
    Case("rewrite break before proxy_pass with a URI", get("/pb/a?b=c"), (200,)),
    Case("if on a variable", get("/iff?a=1"), (201,)),
    Case("if with a regular expression and its capture", get("/iff?b=42"), (202,)),
    Case("if that does not hold", get("/iff?b=x"), (200,)),
    Case("proxy_pass inherited by an if", get("/ifp?a=1"), (200,)),
    Case("error_page to a URI", get("/err"), (404,)),
    Case("error_page =200 to a named location", get("/err2"), (200,)),
    Case("error_page to a URL", get("/err3"), (302,)),
    Case("error_page = takes the status of the page", get("/err4"), (200,)),
    Case("an internal location asked for from outside", get("/int"), (404,)),
    Case("an internal location reached by error_page", get("/toint"), (404,)),
    Case("a proxied location's name without its slash", get("/api"), (301,)),
    Case("the same, with arguments", get("/api?x=1"), (301,)),
    Case("return 301 with a relative URL", get("/ret"), (301,)),
    Case("return 302 without a URL", get("/ret2"), (302,)),
    Case("return 204", get("/ret3"), (204,)),
    Case("return 418, a status without a page", get("/ret6"), (418,)),
    Case("return 200 without a text", get("/ret7"), (200,)),
    Case("$upstream_cache_status without a cache", get("/nocache"), (200,)),
]
CLOSING = [
    Case("return 444 closes without an answer", get("/ret4"), ()),
    Case("return 499 closes without an answer", get("/ret5"), ()),
]


@pytest.mark.parametrize("case", answer_params(CASES + CLOSING))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES + CLOSING))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)
