"""`hapair proxy -t` beside the real `nginx -t` on the http2 module's directives and `listen ... http2`:
same status, same lines (the obsolete directives' warnings included). What hapair refuses (server push,
`grpc_pass`) is asserted as refused, by name, where nginx accepts it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Certificates
from .test_oracle import HEAD, MISSING, hapair_t, nginx_t, with_certificates

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_http(directives: str) -> str:
    return f"http {{ {directives} server {{ listen 38081; }} }}"


def _in_server(directives: str) -> str:
    return f"http {{ server {{ listen 38081; {directives} }} }}"


def _in_location(directives: str) -> str:
    return f"http {{ server {{ listen 38081; location / {{ {directives} }} }} }}"


CASES = [
    "http { server { listen 38081 http2; } }",
    "http { server { listen 38081 http2 http2; } }",
    "http { server { listen 38081 http2 default_server reuseport; } }",
    "http { server { listen 38081 http2; } server { listen 38081; server_name b; } }",
    "http { server { listen 38081 ssl http2; ssl_certificate {crt}; ssl_certificate_key {key}; } }",
    "http { server { listen 38081 http2 ssl; } }",
    "http { server { listen unix:logs/h2.sock http2; } }",
    "stream { server { listen 38091 http2; proxy_pass 127.0.0.1:9; } }",
    _in_http("http2_max_concurrent_streams 64; http2_chunk_size 16k; http2_body_preread_size 128k;"),
    _in_http("http2_max_concurrent_streams 0;"),
    _in_http("http2_max_concurrent_streams x;"),
    _in_http("http2_max_concurrent_streams -1;"),
    _in_http("http2_max_concurrent_streams 1; http2_max_concurrent_streams 2;"),
    _in_server("http2_max_concurrent_streams 10;"),
    _in_location("http2_max_concurrent_streams 10;"),
    _in_http("http2_max_concurrent_pushes 5;"),
    _in_http("http2_max_concurrent_pushes y;"),
    _in_http("http2_recv_buffer_size 1m;"),
    _in_http("http2_recv_buffer_size 32;"),
    _in_http("http2_recv_buffer_size 33;"),
    _in_http("http2_recv_buffer_size 1x;"),
    _in_http("http2_recv_buffer_size 1m; http2_recv_buffer_size 2m;"),
    _in_server("http2_recv_buffer_size 1m;"),
    _in_http("http2_pool_size 4k;"),
    _in_http("http2_pool_size 100;"),
    _in_http("http2_pool_size 112;"),
    _in_http("http2_pool_size 120;"),
    _in_server("http2_pool_size 8k;"),
    _in_http("http2_body_preread_size 0;"),
    _in_http("http2_body_preread_size 2047m;"),
    _in_http("http2_body_preread_size 2048m;"),
    _in_http("http2_body_preread_size 3g;"),
    _in_http("http2_body_preread_size 64k; http2_body_preread_size 64k;"),
    _in_location("http2_body_preread_size 1k;"),
    _in_http("http2_streams_index_size 64;"),
    _in_http("http2_streams_index_size 3;"),
    _in_http("http2_streams_index_size 0;"),
    _in_http("http2_streams_index_size z;"),
    _in_http("http2_chunk_size 0;"),
    _in_http("http2_chunk_size 1;"),
    _in_http("http2_chunk_size 100m;"),
    _in_http("http2_chunk_size k;"),
    _in_location("http2_chunk_size 4k;"),
    _in_location("if ($host) { http2_chunk_size 4k; }"),
    _in_http("http2_push off;"),
    _in_location("http2_push off;"),
    _in_http("http2_push off; http2_push off;"),
    _in_http("http2_push off; http2_push /style.css;"),
    _in_http("http2_push_preload off;"),
    _in_http("http2_push_preload maybe;"),
    _in_http("http2_push_preload off; http2_push_preload off;"),
    _in_http("http2_recv_timeout 10s;"),
    _in_http("http2_recv_timeout x;"),
    _in_server("http2_idle_timeout 5m;"),
    _in_http("http2_max_requests 100; http2_max_field_size 4k; http2_max_header_size 16k;"),
    _in_location("http2_idle_timeout 5m;"),
    _in_http("http2_idle_timeout 1 2;"),
    "http2_chunk_size 8k;",
    "stream { http2_chunk_size 8k; }",
    _in_server("return 200 $http2;"),
]

# nginx accepts these; hapair refuses them, naming what it does not implement
UNSUPPORTED = [
    (_in_http("http2_push /style.css;"), 'hapair does not support server push (a URI) in the "http2_push"'),
    (_in_location("http2_push $uri.css;"), 'hapair does not support server push (a URI) in the "http2_push"'),
    (
        _in_http("http2_push_preload on;"),
        'hapair does not support "on" in the "http2_push_preload" directive',
    ),
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, certificates: Certificates, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + with_certificates(case, certificates, prefix) + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


@pytest.mark.parametrize(("case", "refusal"), UNSUPPORTED)
def test_server_push_and_grpc_are_refused_where_nginx_accepts_them(
    prefix: Path, case: str, refusal: str
) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    status, lines = hapair_t(conf, prefix)
    assert nginx_t(conf, prefix)[0] == 0
    assert status == 1
    assert refusal in lines[0]
