"""`hapair proxy -t` beside the real `nginx -t` on the auth_request module's directives and on
`proxy_pass_request_body`: where they may be, their arguments, duplicates, the variables
`auth_request_set` makes and the values it compiles (same status, same lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

SERVER = "server { listen 38081; location /auth { proxy_pass http://127.0.0.1:9; } %s }"
CASES = [
    SERVER % "location / { auth_request /auth; proxy_pass http://127.0.0.1:9; }",
    SERVER % "auth_request /auth; location / { auth_request off; return 200; }",
    "auth_request /auth; " + SERVER % "",
    SERVER % "location / { auth_request /auth; auth_request /other; }",
    SERVER % "location / { auth_request off; auth_request /auth; }",
    SERVER % "location / { auth_request; }",
    SERVER % "location / { auth_request /a /b; }",
    SERVER % "location / { if ($arg_x) { auth_request /auth; } }",
    SERVER % "location / { auth_request /auth; auth_request_set $u $upstream_http_x_user; return 200 $u; }",
    SERVER % 'location / { auth_request_set $a $upstream_status; auth_request_set $b "$a-$http_x"; }',
    SERVER % "location / { auth_request_set user $upstream_status; }",
    SERVER % "location / { auth_request_set $ x; }",
    SERVER % "location / { auth_request_set $uri x; }",
    SERVER % "location / { auth_request_set $x $nosuch; }",
    SERVER % "location / { auth_request_set $x; }",
    SERVER % 'location / { auth_request_set $x "${y"; }',
    SERVER % "location / { set $x 1; auth_request_set $x 2; }",
    "map $uri $mapped { default 1; } " + SERVER % "location / { auth_request_set $mapped 2; }",
    SERVER % "location / { proxy_pass_request_body off; proxy_pass http://127.0.0.1:9; }",
    SERVER % "location / { proxy_pass_request_body maybe; }",
    SERVER % "location / { proxy_pass_request_body on; proxy_pass_request_body off; }",
    "proxy_pass_request_body off; " + SERVER % "",
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + "http { " + case + " }\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)
