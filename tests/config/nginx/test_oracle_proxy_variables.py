"""`hapair proxy -t` beside the real `nginx -t` on `proxy_pass` with variables and on `resolver` and
`resolver_timeout`: same status, same lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_location(directives: str, match: str = "/") -> str:
    return f"http {{ server {{ listen 38081; location {match} {{ {directives} }} }} }}"


CASES = [
    _in_location("proxy_pass http://$host$request_uri;"),
    _in_location("proxy_pass $http_x;"),
    _in_location("proxy_pass https://$host/x;"),
    _in_location("proxy_pass http://$host/x;", "~ ^/a"),
    _in_location("proxy_pass http://$host/x;", "@named"),
    _in_location("proxy_pass ftp://$host;"),
    _in_location("proxy_pass http://$nosuch;"),
    _in_location("proxy_pass http://${host;"),
    _in_location("proxy_pass http://$host; proxy_pass http://$host;"),
    _in_location("proxy_pass http://$host; proxy_ssl_certificate /nosuch;"),
    _in_location("if ($host) { proxy_pass http://$host/x; }"),
    "http { resolver 127.0.0.1 valid=x; }",
    "http { resolver valid=10s; }",
    "http { resolver 127.0.0.1:99999; }",
    "http { resolver nosuch.invalid; }",
    "http { resolver 127.0.0.1 ipv6=maybe; }",
    "http { resolver 127.0.0.1 ipv6=ON; }",
    "http { resolver 127.0.0.1; resolver 127.0.0.2; }",
    "http { resolver 127.0.0.1 valid=0 ipv6=off valid=30s; }",
    "http { resolver [::1]:5353 localhost ipv6=off valid=30s; resolver_timeout 5s; "
    "server { resolver 127.0.0.1; location / { resolver 127.0.0.2; resolver_timeout 1; } } }",
    "http { resolver_timeout x; }",
    "http { resolver_timeout 1s; resolver_timeout 2s; }",
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        (
            "http { resolver unix:/run/x.sock; }",
            'hapair does not support a unix socket in the "resolver" directive',
        ),
        (
            "stream { resolver unix:/run/x.sock; }",
            'hapair does not support a unix socket in the "resolver" directive',
        ),
    ],
)
def test_what_hapair_refuses_is_named(prefix: Path, case: str, refusal: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert refusal in lines[0]
