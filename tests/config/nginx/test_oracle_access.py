"""`hapair proxy -t` beside the real `nginx -t` on the access-control modules' directives: realip
(`set_real_ip_from`, `real_ip_header`, `real_ip_recursive`), access (`allow`, `deny`), auth_basic,
limit_req and limit_conn with their zones, and the core's `satisfy` and `limit_except`: same status, same
lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_location(directives: str, http: str = "") -> str:
    return f"http {{ {http} server {{ listen 38081; location / {{ {directives} }} }} }}"


def _in_server(directives: str) -> str:
    return f"http {{ server {{ listen 38081; {directives} }} }}"


REQ_ZONE = "limit_req_zone $binary_remote_addr zone=one:1m rate=10r/s;"
CONN_ZONE = "limit_conn_zone $binary_remote_addr zone=addr:1m;"

CASES = [
    # realip
    _in_server("set_real_ip_from 10.0.0.0/8; set_real_ip_from ::1; set_real_ip_from unix:;"),
    _in_server("set_real_ip_from 10.0.0.1/8;"),
    _in_server("set_real_ip_from 2001:db8::1/32;"),
    _in_server("set_real_ip_from localhost;"),
    _in_server("set_real_ip_from no.such.host.invalid;"),
    _in_server("set_real_ip_from 10.0.0.0/33;"),
    _in_server("set_real_ip_from 10.0.0.0/x;"),
    _in_server("set_real_ip_from 255.255.255.255;"),
    _in_server("set_real_ip_from;"),
    _in_server("real_ip_header X-Forwarded-For; real_ip_header X-Real-IP;"),
    _in_server("real_ip_header X-Client; real_ip_recursive on;"),
    _in_server("real_ip_recursive maybe;"),
    _in_server("real_ip_recursive off; real_ip_recursive on;"),
    _in_location("set_real_ip_from 127.0.0.1; real_ip_header x-real-ip;"),
    "http { set_real_ip_from 127.0.0.1; real_ip_header X-Forwarded-For; }",
    _in_location("if ($host) { set_real_ip_from 127.0.0.1; }"),
    # access
    _in_location("allow 127.0.0.1; allow 10.0.0.0/8; allow ::1; allow unix:; deny all;"),
    _in_location("allow 10.0.0.1/8;"),
    _in_location("deny 10.0.0.0/33;"),
    _in_location("deny example.com;"),
    _in_location("deny ALL;"),
    _in_location("allow;"),
    _in_location("allow 1 2;"),
    _in_location("if ($host) { deny all; }"),
    "http { allow all; server { deny all; } }",
    _in_location("satisfy any; satisfy all;"),
    _in_location("satisfy ANY;"),
    _in_location("satisfy some;"),
    # auth_basic
    _in_location('auth_basic "realm $host"; auth_basic_user_file conf/htpasswd;'),
    _in_location("auth_basic off; auth_basic on;"),
    _in_location("auth_basic_user_file a; auth_basic_user_file b;"),
    _in_location("auth_basic $nosuch;"),
    _in_location("auth_basic_user_file $nosuch;"),
    _in_location("auth_basic_user_file /etc/$host;"),
    _in_location("auth_basic x y;"),
    # limit_req
    _in_location("limit_req zone=one burst=5 nodelay;", REQ_ZONE),
    _in_location("limit_req zone=one burst=5 delay=2;", REQ_ZONE),
    _in_location("limit_req zone=one;", "limit_req_zone $binary_remote_addr zone=one:1m rate=30r/m;"),
    _in_location("limit_req zone=one; limit_req zone=one;", REQ_ZONE),
    _in_location("limit_req zone=one burst=0;", REQ_ZONE),
    _in_location("limit_req zone=one burst=x;", REQ_ZONE),
    _in_location("limit_req zone=one delay=0;", REQ_ZONE),
    _in_location("limit_req zone=one nodelay=1;", REQ_ZONE),
    _in_location("limit_req burst=5;", REQ_ZONE),
    _in_location("limit_req zone=nosuch;", REQ_ZONE),
    _in_location("limit_req zone=addr;", CONN_ZONE),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1x rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:16k rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:32k rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=:1m rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m rate=0r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/h;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m rate=5;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m rate=;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s burst=5;"),
    _in_location("", "limit_req_zone $nosuch zone=one:1m rate=1r/s;"),
    _in_location("", "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s; " + REQ_ZONE),
    _in_location("", REQ_ZONE + " limit_req_zone $binary_remote_addr zone=one:2m rate=1r/s;"),
    _in_location("", REQ_ZONE + " limit_conn_zone $binary_remote_addr zone=one:1m;"),
    _in_location("limit_req zone=one;", "limit_req_zone $binary_remote_addr zone=one:1m rate=1r/s;"),
    "http { limit_req zone=one; limit_req_zone $host zone=one:1m rate=1r/s; }",
    "http { server { limit_req_zone $host zone=one:1m rate=1r/s; } }",
    _in_location("limit_req_log_level warn; limit_req_status 429; limit_req_dry_run on;"),
    _in_location("limit_req_log_level debug;"),
    _in_location("limit_req_log_level info; limit_req_log_level info;"),
    _in_location("limit_req_status 399;"),
    _in_location("limit_req_status 600;"),
    _in_location("limit_req_status x;"),
    _in_location("limit_req_status 429; limit_req_status 429;"),
    _in_location("limit_req_dry_run maybe;"),
    # limit_conn
    _in_location("limit_conn addr 10;", CONN_ZONE),
    _in_location("limit_conn addr 0;", CONN_ZONE),
    _in_location("limit_conn addr x;", CONN_ZONE),
    _in_location("limit_conn addr 65536;", CONN_ZONE),
    _in_location("limit_conn addr 65535;", CONN_ZONE),
    _in_location("limit_conn addr 1; limit_conn addr 2;", CONN_ZONE),
    _in_location("limit_conn nosuch 1;", CONN_ZONE),
    _in_location("limit_conn one 1;", REQ_ZONE),
    _in_location("", "limit_conn_zone $binary_remote_addr zone=addr;"),
    _in_location("", "limit_conn_zone $binary_remote_addr size=1m;"),
    _in_location("", "limit_conn_zone $binary_remote_addr zone=addr:1m; " + CONN_ZONE),
    _in_location("limit_conn_log_level notice; limit_conn_status 429; limit_conn_dry_run on;"),
    _in_location("limit_conn_log_level crit;"),
    _in_location("limit_conn_status 200;"),
    # limit_except
    _in_location("limit_except GET { deny all; } proxy_pass http://127.0.0.1:9;"),
    _in_location("limit_except get post { allow 127.0.0.1; deny all; }"),
    _in_location("limit_except GET { deny all; } limit_except POST { deny all; }"),
    _in_location("limit_except FOO { deny all; }"),
    _in_location("limit_except TRACE { deny all; }"),
    _in_location("limit_except GET;"),
    _in_location("limit_except GET { rewrite ^ /x; }"),
    _in_location("limit_except GET { proxy_pass http://127.0.0.1:9/x; }"),
    _in_location("limit_except GET { proxy_pass http://127.0.0.1:9; auth_basic x; access_log off; }"),
    _in_server("limit_except GET { deny all; }"),
    _in_location("if ($host) { limit_except GET { deny all; } }"),
    _in_location("limit_except GET { limit_except POST { } }"),
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
