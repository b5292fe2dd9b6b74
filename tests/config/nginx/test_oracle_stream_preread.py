"""`hapair proxy -t` beside the real `nginx -t` on the stream directives of SNI routing and the L4
companions: `ssl_preread`, `preread_buffer_size`, `preread_timeout`, `map`, `split_clients` and `set` in
stream, `proxy_pass` with variables, `resolver` and `resolver_timeout`, `allow`/`deny`, `tcp_nodelay`,
`proxy_next_upstream*`: valid and invalid forms, same status, same lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

S = "listen 38091; proxy_pass 127.0.0.1:9;"  # a server that is complete


def server(lines: str, stream: str = "") -> str:
    return f"stream {{ {stream} server {{ {S} {lines} }} }}"


def dynamic(lines: str, stream: str = "") -> str:
    return f"stream {{ {stream} server {{ listen 38091; {lines} }} }}"


CASES = [
    # ssl_preread and the preread phase
    server("ssl_preread on;"),
    server("ssl_preread off; preread_buffer_size 32k; preread_timeout 5s;"),
    server("ssl_preread On;"),
    server("ssl_preread yes;"),
    server("ssl_preread on; ssl_preread off;"),
    server("ssl_preread;"),
    server("", "ssl_preread on; preread_buffer_size 1k; preread_timeout 100ms;"),
    server("preread_buffer_size 0;"),
    server("preread_buffer_size 1x;"),
    server("preread_buffer_size 4k; preread_buffer_size 8k;"),
    server("preread_timeout 1y;"),
    server("preread_timeout -1;"),
    "stream { ssl_preread on; }",
    "stream { server { listen 38091; proxy_pass 127.0.0.1:9; } ssl_preread maybe; }",
    "events { ssl_preread on; }",
    "http { ssl_preread on; }",
    # map and split_clients in stream
    "stream { map $ssl_preread_server_name $b { a.example 127.0.0.1:1; default 127.0.0.1:2; } "
    "server { listen 38091; ssl_preread on; proxy_pass $b; } }",
    "stream { map $ssl_preread_server_name $b { hostnames; *.a.example x; .b.example y; ~^c z; } }",
    "stream { map $ssl_preread_server_name $b { volatile; default $remote_addr; } }",
    "stream { map $remote_addr $b { a b c; } }",
    "stream { map $remote_addr $b { default 1; default 2; } }",
    "stream { map $remote_addr $b { a 1; A 2; } }",
    "stream { map $remote_addr $remote_port { a 1; } }",
    "stream { map $remote_addr $ssl_preread_server_name { a 1; } }",
    "stream { map $nosuch $b { a 1; } }",
    "stream { map $remote_addr $b { a $nosuch; } }",
    "stream { map $remote_addr b { a 1; } }",
    "stream { map $remote_addr $b { a 1; } map $remote_port $b { b 2; } }",
    "stream { map $remote_addr $b { a 1; } map_hash_max_size 10; }",
    "stream { map_hash_bucket_size 1; map $remote_addr $b { " + "a" * 46 + " 1; } }",
    "stream { map_hash_max_size x; }",
    "stream { server { map $remote_addr $b { a 1; } } }",
    "stream { map $remote_addr $b { ~(?<name>[a-z]+) $name; } "
    "server { listen 38091; proxy_pass $b$name:1; } }",
    "stream { split_clients $remote_addr $s { 50% 127.0.0.1:1; * 127.0.0.1:2; } "
    "server { listen 38091; proxy_pass $s; } }",
    "stream { split_clients $remote_addr $s { 60% a; 50% b; } }",
    "stream { split_clients $remote_addr $s { x% a; } }",
    "stream { split_clients $remote_addr $remote_port { 50% a; } }",
    # set in stream
    server('set $x "a$remote_addr";'),
    server("set $x a; set $y $x;"),
    server("set x a;"),
    server("set $ a;"),
    server("set $remote_addr a;"),
    server("set $Remote_Addr a;"),
    server("set $ssl_preread_server_name a;"),
    server("set $bytes_sent 1;"),
    server("set $x $nosuch;"),
    server("set $x ${a;"),
    server("set $x;"),
    "stream { set $x a; }",
    "stream { map $remote_addr $m { default 1; } server { " + S + " set $m 2; } }",
    # proxy_pass with variables, resolver
    dynamic("proxy_pass $remote_addr:1;"),
    dynamic("proxy_pass $ssl_preread_server_name:443; resolver 127.0.0.1 valid=10s ipv6=off;"),
    dynamic("proxy_pass $nosuch;"),
    dynamic("proxy_pass $;"),
    dynamic("proxy_pass ${x;"),
    dynamic("proxy_pass $remote_addr; proxy_pass 127.0.0.1:1;"),
    dynamic("proxy_pass 127.0.0.1:1; proxy_pass $remote_addr;"),
    dynamic("proxy_pass $remote_addr;", "resolver 127.0.0.1; resolver_timeout 5s;"),
    dynamic("proxy_pass $remote_addr; resolver;"),
    dynamic("proxy_pass $remote_addr; resolver 127.0.0.1 valid=x;"),
    dynamic("proxy_pass $remote_addr; resolver 127.0.0.1 ipv6=maybe;"),
    dynamic("proxy_pass $remote_addr; resolver 127.0.0.1; resolver 127.0.0.2;"),
    dynamic("proxy_pass $remote_addr; resolver nosuch.invalid;"),
    dynamic("proxy_pass $remote_addr; resolver_timeout x;"),
    # allow and deny
    server("allow 127.0.0.1; allow ::1; allow 10.0.0.0/8; deny all;"),
    server("deny unix:; allow all;", "allow 192.0.2.0/24;"),
    server("allow 10.0.0.1/8;"),
    server("allow 10.0.0.0/33;"),
    server("deny nosuch;"),
    server("allow;"),
    "stream { deny all; server { " + S + " } }",
    # tcp_nodelay, proxy_next_upstream*
    server("tcp_nodelay off;"),
    server("tcp_nodelay off; tcp_nodelay on;"),
    server("tcp_nodelay x;"),
    server("proxy_next_upstream off; proxy_next_upstream_tries 3; proxy_next_upstream_timeout 5s;"),
    server("proxy_next_upstream error;"),
    server("proxy_next_upstream_tries x;"),
    server("proxy_next_upstream_tries -1;"),
    server("proxy_next_upstream_timeout 5x;"),
    server("proxy_next_upstream_tries 1; proxy_next_upstream_tries 2;"),
    "stream { proxy_next_upstream_tries 2; proxy_next_upstream_timeout 1s; tcp_nodelay off; "
    "server { " + S + " } }",
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
        (server("set $ssl_protocol a;"), 'hapair does not support setting the "$ssl_protocol" variable'),
        (
            "stream { map $remote_addr $ssl_cipher { a 1; } }",
            'hapair does not support making the "$ssl_cipher" variable',
        ),
        ("stream { geo $g { default 1; } }", 'hapair does not support the "geo" directive'),
        (
            server("proxy_bind 127.0.0.1 transparent;"),
            'hapair does not support "transparent" in the "proxy_bind" directive',
        ),
    ],
)
def test_what_hapair_refuses_is_named(prefix: Path, case: str, refusal: str) -> None:
    """nginx accepts these; hapair names what it does not do."""
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert refusal in lines[0]
