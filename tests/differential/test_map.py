"""`map` and `split_clients` variables through nginx and hapair: exact keys without case, `hostnames`
wildcards, regular expressions and their captures, `default`, values with variables, the value kept for
the request (and not with `volatile`), split_clients' shares; in `return` texts and in a header sent
upstream. The statuses in each case are what nginx 1.22.1 was seen to answer."""

from __future__ import annotations

import pytest

from .harness import Case, Pair, http_config
from .suite import ORACLE, answer_params, check_answer, check_log, log_params, pair_fixture

pytestmark = ORACLE

MAPS = r"""
    map $http_x_key $exact {
        default      d:$http_x_key;
        a            A;
        MiXed        mixed;
        \default     escaped;
        ""           empty;
        ~^re(\d+)$   re-$1;
        ~*^CI(?<tail>.*)$ ci-$tail;
        ~^two        first;
        ~two         second;
    }
    map $http_x_host $hosts {
        hostnames;
        default          none;
        example.com      exact;
        *.example.com    star;
        *.b.example.com  deeper;
        .example.org     dot;
        www.example.*    tail;
        www.*            short-tail;
    }
    map $uri $kept { default $uri; }
    map $uri $fresh { volatile; default $uri; }
    map $http_x_key $nested { default <$exact>; }
    split_clients "${http_x_key}salt" $split { 33.3% one; 50% two; * three; }
    split_clients $http_x_key $partial { 10% ten; 20.5% twenty; }
    split_clients $http_x_key $fine { FINE * last; }
""".replace("FINE", " ".join(f"1% p{share};" for share in range(99)))
LOCATIONS = r"""
        location /fine { return 200 "$fine\n"; }
        location /values { return 200 "$exact|$hosts|$nested|$split|$partial\n"; }
        location /kept { set $before $kept; rewrite ^ /rewritten; return 200 "$before|$kept|$fresh|$uri\n"; }
        location ~ ^/captures/(.*)$ { return 200 "$1|$exact|$1\n"; }
        location ~ ^/named/(.*)$ { return 200 "$exact|$1|$tail\n"; }
        location /upstream { proxy_pass http://backend; proxy_set_header X-Map "$exact $hosts"; }
"""
pair = pair_fixture(http_config(http=MAPS, server=LOCATIONS))


def _get(path: str, **headers: str) -> bytes:
    lines = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{lines}Connection: close\r\n\r\n".encode()


CASES = [
    Case("no key", _get("/values"), (200,)),
    Case("exact key", _get("/values", X_Key="a"), (200,)),
    Case("exact key in another case", _get("/values", X_Key="mixed"), (200,)),
    Case("exact key in upper case", _get("/values", X_Key="MIXED"), (200,)),
    Case("escaped key", _get("/values", X_Key="default"), (200,)),
    Case("empty key", _get("/values", X_Key=""), (200,)),
    Case("regular expression with a capture", _get("/values", X_Key="re42"), (200,)),
    Case("regular expression without case, named group", _get("/values", X_Key="cIrcle"), (200,)),
    Case("the first regular expression that matches", _get("/values", X_Key="twofold"), (200,)),
    Case("a later regular expression", _get("/values", X_Key="onetwo"), (200,)),
    Case("no match: default with a variable", _get("/values", X_Key="zzz"), (200,)),
    Case("hostname exact", _get("/values", X_Host="example.com"), (200,)),
    Case("hostname exact with a final dot", _get("/values", X_Host="Example.COM."), (200,)),
    Case("hostname subdomain", _get("/values", X_Host="a.example.com"), (200,)),
    Case("hostname deeper subdomain", _get("/values", X_Host="x.y.example.com"), (200,)),
    Case("hostname the most specific wildcard", _get("/values", X_Host="c.b.example.com"), (200,)),
    Case("hostname a wildcard's own domain", _get("/values", X_Host="b.example.com"), (200,)),
    Case("hostname dot form, the domain", _get("/values", X_Host="example.org"), (200,)),
    Case("hostname dot form, a subdomain", _get("/values", X_Host="a.example.org"), (200,)),
    Case("hostname tail wildcard", _get("/values", X_Host="www.example.net"), (200,)),
    Case("hostname shorter tail wildcard", _get("/values", X_Host="www.other.net"), (200,)),
    Case("hostname tail without a label after", _get("/values", X_Host="www.example"), (200,)),
    Case("hostname head wins over tail", _get("/values", X_Host="www.example.com"), (200,)),
    Case("hostname no match", _get("/values", X_Host="other.net"), (200,)),
    *(Case(f"split key {key}", _get("/values", X_Key=key), (200,)) for key in ("1", "2", "3", "4", "5", "6")),
    *(Case(f"fine split key {key}", _get("/fine", X_Key=key), (200,)) for key in ("a", "b", "c", "d", "e")),
    Case("a value kept for the request, a volatile one not", _get("/kept"), (200,)),
    Case("the map's captures replace the location's", _get("/captures/abc", X_Key="re7"), (200,)),
    Case("the location's captures without a map match", _get("/captures/abc", X_Key="a"), (200,)),
    Case("a named group of the map", _get("/named/abc", X_Key="CIrcus"), (200,)),
    Case("values in a header sent upstream", _get("/upstream", X_Key="a", X_Host="a.example.com"), (200,)),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer_and_upstream(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


def test_the_values_are_the_ones_nginx_documents(pair: Pair) -> None:
    """A few answers spelled out, so that a case cannot pass with both sides wrong in the same way."""
    expected = {
        "hostname the most specific wildcard": b"empty|deeper|<empty>|",
        "hostname a wildcard's own domain": b"empty|star|<empty>|",
        "regular expression with a capture": b"re-42|none|<re-42>|",
    }
    for case in CASES:
        if case.name in expected:
            for side in pair.run(case).sides():
                assert side.answer.responses[0].body.startswith(expected[case.name]), (case.name, side.name)
