"""`hapair proxy -t` beside the real `nginx -t` on the proxy module's directives about responses
(`proxy_redirect`, `proxy_hide_header`, `proxy_pass_header`, `proxy_ignore_headers`,
`proxy_intercept_errors`, `proxy_buffer_size`, `proxy_buffers`, `proxy_busy_buffers_size`,
`proxy_temp_file_write_size`, `proxy_max_temp_file_size`, `proxy_temp_path`): same status, same lines,
the checks nginx makes when it merges the levels included."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

PASS = "proxy_pass http://127.0.0.1:9;"


def _in_location(directives: str, path: str = "/") -> str:
    return f"http {{ server {{ listen 38081; location {path} {{ {directives} }} }} }}"


def _in_server(directives: str) -> str:
    return f"http {{ server {{ listen 38081; {directives} location / {{ {PASS} }} }} }}"


CASES = [
    _in_location(f"{PASS} proxy_redirect default;"),
    _in_location(f"proxy_redirect default; {PASS}"),
    _in_server("proxy_redirect default;"),
    _in_location(f"{PASS} proxy_redirect off;"),
    _in_location(f"{PASS} proxy_redirect off; proxy_redirect default;"),
    _in_location(f"{PASS} proxy_redirect default; proxy_redirect off;"),
    _in_location(f"{PASS} proxy_redirect off; proxy_redirect off;"),
    _in_location(f"{PASS} proxy_redirect foo;"),
    _in_location(f"{PASS} proxy_redirect Off;"),
    _in_location(
        f"{PASS} proxy_redirect http://a/ /b/; proxy_redirect http://$host/ /; proxy_redirect default;"
    ),
    _in_location(f"{PASS} proxy_redirect ~^http://a(/.*)$ $1; proxy_redirect ~*^HTTP://(?<rest>.*)$ /$rest;"),
    _in_location(f"{PASS} proxy_redirect http://a/ $nosuch;"),
    _in_location(f"{PASS} proxy_redirect $nosuch /;"),
    _in_location(f"{PASS} proxy_redirect off x;"),
    _in_location(f"{PASS} proxy_redirect a b c;"),
    _in_location("proxy_pass http://127.0.0.1:9/x/; proxy_redirect default;", "/y/"),
    _in_location("proxy_redirect default; location /in { proxy_pass http://127.0.0.1:9; }"),
    _in_location(f"{PASS} if ($host) {{ proxy_redirect default; }}"),
    _in_location(f"{PASS} proxy_hide_header X-A; proxy_hide_header X-B; proxy_pass_header Server;"),
    _in_location(f"{PASS} proxy_hide_header X-A X-B;"),
    _in_location(f"{PASS} proxy_ignore_headers X-Accel-Redirect x-accel-expires X-Accel-Limit-Rate;"),
    _in_location(f"{PASS} proxy_ignore_headers X-Accel-Buffering X-Accel-Charset Expires Cache-Control;"),
    _in_location(f"{PASS} proxy_ignore_headers Set-Cookie Vary Vary;"),
    _in_location(f"{PASS} proxy_ignore_headers Content-Type;"),
    _in_location(f"{PASS} proxy_intercept_errors on; proxy_intercept_errors off;"),
    _in_location(f"{PASS} proxy_intercept_errors maybe;"),
    _in_location(f"{PASS} proxy_buffer_size 8k; proxy_buffers 16 8k; proxy_busy_buffers_size 16k;"),
    _in_location(f"{PASS} proxy_buffers 1 4k;"),
    _in_location(f"{PASS} proxy_buffers 0 4k;"),
    _in_location(f"{PASS} proxy_buffers 8 0;"),
    _in_location(f"{PASS} proxy_buffers 8 4k; proxy_buffers 8 4k;"),
    _in_location(f"{PASS} proxy_buffer_size x;"),
    _in_location(f"{PASS} proxy_buffer_size 16k;"),
    _in_location(f"{PASS} proxy_busy_buffers_size 2k;"),
    _in_location(f"{PASS} proxy_busy_buffers_size 64k;"),
    _in_location(f"{PASS} proxy_busy_buffers_size 28k;"),
    _in_location(f"{PASS} proxy_temp_file_write_size 1k;"),
    _in_location(f"{PASS} proxy_temp_file_write_size 1m;"),
    _in_location(f"{PASS} proxy_max_temp_file_size 1k;"),
    _in_location(f"{PASS} proxy_max_temp_file_size 0;"),
    _in_location(f"{PASS} proxy_max_temp_file_size 10m; proxy_max_temp_file_size 0;"),
    "http { proxy_buffers 1 4k; }",
    "http { proxy_buffers 1 4k; server { listen 38081; } }",
    "http { proxy_buffer_size 16k; server { listen 38081; proxy_buffers 8 16k; } }",
    "http { proxy_buffer_size 16k; server { listen 38081; proxy_buffers 8 16k; location / { } } "
    "server { listen 38082; } }",
    _in_location(f"{PASS} proxy_temp_path /tmp/hapair-proxy-temp 1 2;"),
    _in_location(f"{PASS} proxy_temp_path /tmp/hapair-proxy-temp 3 3 3 3;"),
    _in_location(f"{PASS} proxy_buffers 1 4k; proxy_set_header X $nosuch;"),
    _in_location(f"{PASS} proxy_cookie_domain off; proxy_cookie_path off; proxy_cookie_flags off;"),
    _in_location(f"{PASS} proxy_cookie_domain off; proxy_cookie_domain off;"),
    _in_location(f"{PASS} proxy_cookie_domain a b; proxy_cookie_domain off;"),
    _in_location(f"{PASS} proxy_cookie_path off; proxy_cookie_path / /b/;"),
    _in_location(f"{PASS} proxy_cookie_flags a secure; proxy_cookie_flags off;"),
    _in_location(f"{PASS} proxy_cookie_domain foo;"),
    _in_location(f"{PASS} proxy_cookie_flags foo;"),
    _in_location(f"{PASS} proxy_cookie_flags foo a b c d;"),
    _in_location(
        f"{PASS} proxy_cookie_domain ~^(?<sub>.*)\\.corp$ $sub.example; proxy_cookie_domain .a.b .c.d;"
    ),
    _in_location(f"{PASS} proxy_cookie_domain $host $nosuch;"),
    _in_location(
        f"{PASS} proxy_cookie_path / /b/; proxy_cookie_path ~*^/(.*)$ /x/$1; proxy_cookie_path ~^/y /z;"
    ),
    _in_location(
        f"{PASS} proxy_cookie_flags one secure httponly samesite=strict; proxy_cookie_flags ~^s nosecure;"
    ),
    _in_location(f"{PASS} proxy_cookie_flags one unknown $host;"),
    _in_location(f"{PASS} proxy_method POST; proxy_pass_request_headers off;"),
    _in_location(f"{PASS} proxy_method $request_method; proxy_method GET;"),
    _in_location(f"{PASS} proxy_method $nosuch;"),
    _in_location(f"{PASS} proxy_pass_request_headers maybe;"),
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


REFUSED = [
    "proxy_set_body x;",
]


@pytest.mark.parametrize("directive", REFUSED)
def test_what_hapair_does_not_implement_is_refused_where_nginx_accepts_it(
    prefix: Path, directive: str
) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + _in_location(f"{PASS} {directive}") + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    name = directive.split(maxsplit=1)[0]
    assert (nginx_status, hapair_status) == (0, 1)
    assert f'hapair does not support the "{name}" directive' in lines[0]


CACHE_PREDICATE_CASES = [
    "proxy_cache_bypass $http_upgrade; proxy_cache_bypass $cookie_nocache $arg_nocache; proxy_no_cache 1;",
    "proxy_cache_bypass $nosuch;",
    "proxy_no_cache;",
]


@pytest.mark.parametrize("case", CACHE_PREDICATE_CASES)
def test_cache_predicates_without_a_cache_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + f"http {{ server {{ listen 38081; location / {{ {case} }} }} }}\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)
