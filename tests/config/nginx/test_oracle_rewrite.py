"""`hapair proxy -t` beside the real `nginx -t` on the rewrite module's directives (`rewrite`, `return`,
`set`, `if`, `break`) and the core's that go with them (`error_page`, `types`, `default_type`,
`internal`, the redirect flags, temporary paths, the hash sizes): same status, same lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_location(directives: str) -> str:
    return f"http {{ server {{ listen 38081; location / {{ {directives} }} }} }}"


def _in_server(directives: str) -> str:
    return f"http {{ server {{ listen 38081; {directives} }} }}"


CASES = [
    _in_location(
        "rewrite ^/(.*)$ /b/$1 last; rewrite ^ /c break; rewrite ^ /d redirect; rewrite ^ /e permanent;"
    ),
    _in_location("rewrite ^ '';"),
    _in_location("rewrite ^ /x foo;"),
    _in_location("rewrite ^ /x last extra;"),
    _in_location("rewrite ^ http://example.com$request_uri?;"),
    _in_location("rewrite ^ /x$nosuch;"),
    _in_location("return abc;"),
    _in_location("return 1000;"),
    _in_location("return 999 text;"),
    _in_location("return 200 a b;"),
    _in_location("return https://example.com;"),
    _in_location("return http://example.com extra;"),
    _in_location('return 200 "$host and $1";'),
    _in_location("return 301 $nosuch;"),
    _in_location("set foo bar;"),
    _in_location("set $uri x;"),
    _in_location("set $args a=b;"),
    _in_location("set $mine x; return 200 $mine;"),
    _in_location("set $ x;"),
    _in_location("break; break x;"),
    _in_location("if ($nosuch) { return 200; }"),
    _in_location("if (a) { return 200; }"),
    _in_location("if ($host foo bar) { return 200; }"),
    _in_location("if ($host = a b) { return 200; }"),
    _in_location("if ($host = 'a b') { return 200; }"),
    _in_location("if ( $host ) { return 200; }"),
    _in_location("if ($host ~* ^(?<sub>[a-z]+)\\.) { return 200 $sub; }"),
    _in_location("if ($host !~ x) { return 403; } if ($host != x) { return 404; }"),
    _in_location("if (-q /x) { return 200; }"),
    _in_location("if (-f) { return 200; }"),
    _in_location("if (!-e /x) { return 200; } if (-d /) { return 200; } if (!-x /x) { return 200; }"),
    _in_location("if ($host $host) { return 200; }"),
    _in_location("if ($host) { proxy_pass http://127.0.0.1:9/x; }"),
    _in_location("if ($host) { proxy_pass http://127.0.0.1:9; set $a 1; }"),
    _in_location("if ($host) { location /a {} }"),
    _in_location("if ($host) { if ($host) {} }"),
    _in_server("if ($host) { proxy_pass http://127.0.0.1:9; }"),
    _in_server("if ($host) { rewrite ^ /x; set $a b; return 200; }"),
    _in_server("rewrite_log on; uninitialized_variable_warn off; rewrite_log maybe;"),
    _in_location("error_page 404;"),
    _in_location("error_page 200 /x;"),
    _in_location("error_page 499 /x;"),
    _in_location("error_page 600 /x;"),
    _in_location("error_page abc /x;"),
    _in_location("error_page = /x;"),
    _in_location("error_page 404 =abc /x;"),
    _in_location("error_page 404 500 =200 /x?a=b; error_page 502 = @named; error_page 503 http://x/$host;"),
    _in_location("error_page 404 $nosuch;"),
    "http { types { text/html html; text/x HTML htm; } }",
    "http { types { text/html html { } } }",
    "http { types { include nosuch.types; } }",
    "http { types { text/html html; } types { text/plain txt; } default_type a; default_type b; }",
    "http { types_hash_max_size 2048; types_hash_bucket_size 64; types_hash_max_size x; }",
    "http { server_tokens off; server { server_tokens build; } } http { }",
    "http { server_tokens maybe; }",
    _in_location("chunked_transfer_encoding off; chunked_transfer_encoding on;"),
    _in_location("chunked_transfer_encoding maybe;"),
    _in_location("internal; internal x;"),
    _in_location(
        "absolute_redirect off; port_in_redirect off; server_name_in_redirect on; msie_padding off;"
    ),
    _in_location("absolute_redirect maybe;"),
    _in_location("client_body_temp_path /tmp/x 1 2 3; client_body_buffer_size 1m;"),
    _in_location("client_body_temp_path /tmp/x 0;"),
    _in_location("client_body_temp_path /tmp/x 5 5 5;"),
    _in_location("client_body_temp_path /tmp/x 1 2 3 4;"),
    _in_location("client_body_buffer_size x;"),
    _in_location("proxy_request_buffering maybe;"),
    _in_location("proxy_request_buffering off; proxy_buffering off; proxy_buffering on;"),
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


def test_msie_refresh_on_is_refused_where_nginx_accepts_it(prefix: Path) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + _in_location("msie_refresh on;") + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert 'hapair does not support "on" in the "msie_refresh" directive' in lines[0]


NAME_47 = "a" * 47
NAME_110 = "b" * 110
SERVER_NAMES_CASES = [
    f"http {{ server {{ listen 38081; server_name {NAME_47}; }} server {{ listen 38081; }} }}",
    f"http {{ server_names_hash_bucket_size 128; server {{ listen 38081; server_name {NAME_47}; }} "
    "server { listen 38081; } }",
    f"http {{ server_names_hash_bucket_size 100; server {{ listen 38081; server_name {NAME_110}; }} "
    "server { listen 38081; } }",
    f"http {{ server_names_hash_bucket_size 100; server {{ listen 38081; server_name {NAME_110}x; }} "
    "server { listen 38081; } }",
    "http { server_names_hash_max_size 0; server { listen 38081; server_name a; } server { listen 38081; } }",
    "http { server_names_hash_bucket_size 70000; server { listen 38081; server_name a; } "
    "server { listen 38081; } }",
    "http { server_names_hash_bucket_size x; }",
    "http { server_names_hash_max_size 1024; variables_hash_max_size 2048; variables_hash_bucket_size 128; }",
    "http { server { server_names_hash_max_size 1024; } }",
]


@pytest.mark.parametrize("case", SERVER_NAMES_CASES)
def test_server_names_hash_sizes_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


TEMP_PATH_CASES = [
    "http { fastcgi_temp_path /tmp/f 1 2; uwsgi_temp_path /tmp/u; scgi_temp_path /tmp/s; }",
    "http { fastcgi_temp_path /tmp/f 0; }",
    "http { server { location / { uwsgi_temp_path /tmp/u; uwsgi_temp_path /tmp/v; } } }",
]


@pytest.mark.parametrize("case", TEMP_PATH_CASES)
def test_temp_paths_of_modules_hapair_does_not_run(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)
