"""`hapair proxy -t` beside the real `nginx -t` on what L4 load balancers add: UDP in stream (`listen ...
udp`, `proxy_responses`, `proxy_requests`), the PROXY protocol (`listen ... proxy_protocol` in http and
stream, `proxy_protocol`, `proxy_protocol_timeout`, stream's `set_real_ip_from`, `real_ip_header
proxy_protocol`), and the socket options of `listen` (`rcvbuf=`, `sndbuf=`, `so_keepalive=`, `fastopen=`,
`deferred`, `backlog=`, `bind`, `ipv6only=`, `reuseport`): valid and invalid forms, same status, same
lines; and what hapair refuses where nginx accepts, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Certificates
from .test_oracle import HEAD, MISSING, hapair_t, nginx_t, with_certificates

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

P = "proxy_pass 127.0.0.1:9;"


def stream(listen: str, lines: str = "", outside: str = "") -> str:
    return f"stream {{ {outside} server {{ listen {listen}; {P} {lines} }} }}"


def http(listen: str, lines: str = "") -> str:
    return f"http {{ access_log off; server {{ listen {listen}; {lines} }} }}"


UDP = [
    stream("38091 udp", "proxy_responses 1; proxy_timeout 1s;"),
    stream("38091 udp reuseport", "proxy_requests 2; proxy_responses 0;"),
    stream("127.0.0.1:38091 udp bind"),
    stream("38091 udp backlog=10"),
    stream("38091 udp so_keepalive=on"),
    stream("38091 udp proxy_protocol"),
    stream("38091 udp fastopen=3"),
    stream("38091 udp rcvbuf=64k sndbuf=1m"),
    stream("38091 udp ssl"),
    stream("38091 udp backlog=x"),
    stream("38091 udp", "listen 38091;"),
    stream("38091 udp", "listen 38091 udp;"),
    "stream { server { listen 38091 udp; " + P + " } server { listen 38091 udp; " + P + " } }",
    "stream { server { listen 38091 udp; " + P + " } server { listen 127.0.0.1:38091 udp; " + P + " } }",
    stream("38091 UDP"),
    stream("38091 udp", "proxy_responses x;"),
    stream("38091 udp", "proxy_responses -1;"),
    stream("38091 udp", "proxy_responses 1; proxy_responses 2;"),
    stream("38091 udp", "proxy_requests 1k;"),
    stream("38091 udp", "proxy_requests;"),
    stream("38091 udp", "", "proxy_responses 2; proxy_requests 3;"),
    "http { proxy_responses 1; }",
]

SOCKET_OPTIONS = [
    stream("38091 rcvbuf=64k sndbuf=128k"),
    stream("38091 rcvbuf=x"),
    stream("38091 sndbuf="),
    stream("38091 rcvbuf=1g"),
    stream("38091 so_keepalive=on"),
    stream("38091 so_keepalive=off"),
    stream("38091 so_keepalive=30m:10:5"),
    stream("38091 so_keepalive=:10:"),
    stream("38091 so_keepalive=::5"),
    stream("38091 so_keepalive=::"),
    stream("38091 so_keepalive=1:2:3:4"),
    stream("38091 so_keepalive=x"),
    stream("38091 so_keepalive=1x"),
    stream("38091 so_keepalive="),
    stream("38091 fastopen=256"),
    stream("38091 fastopen=x"),
    stream("38091 fastopen=-1"),
    stream("38091 deferred"),
    stream("38091 backlog=0"),
    stream("38091 backlog=511 bind ipv6only=on"),
    stream("[::]:38091 ipv6only=off"),
    stream("38091 ipv6only=x"),
    "stream { server { listen 127.0.0.1:38091 rcvbuf=8k; " + P + " } "
    "server { listen 38091 sndbuf=8k; " + P + " } }",
    http("38081 rcvbuf=64k sndbuf=128k so_keepalive=on fastopen=10 deferred backlog=100"),
    http("38081 deferred"),
    http("38081 so_keepalive=1m::3"),
    http("38081 so_keepalive=maybe"),
    http("38081 rcvbuf=x"),
    http("38081 fastopen=x"),
    http("38081 deferred=on"),
    "http { server { listen 38081 rcvbuf=8k; } server { listen 38081 sndbuf=8k; } }",
    "http { server { listen 38081 rcvbuf=8k; } server { listen 38081; } }",
    "http { server { listen 38081 deferred; client_header_timeout 1ms; } }",
]

PROXY_PROTOCOL = [
    stream(
        "38091 proxy_protocol", "proxy_protocol_timeout 5s; set_real_ip_from 10.0.0.0/8; proxy_protocol on;"
    ),
    stream(
        "38091 proxy_protocol", "set_real_ip_from unix:; set_real_ip_from ::1; set_real_ip_from localhost;"
    ),
    stream("38091", "proxy_protocol maybe;"),
    stream("38091", "proxy_protocol on; proxy_protocol off;"),
    stream("38091", "proxy_protocol_timeout x;"),
    stream("38091", "set_real_ip_from 10.0.0.1/8;"),
    stream("38091", "set_real_ip_from 10.0.0.0/33;"),
    stream("38091", "set_real_ip_from nosuch.invalid;"),
    stream("38091", "set_real_ip_from;"),
    stream("38091", "real_ip_header proxy_protocol;"),
    stream("38091", "", "proxy_protocol on; proxy_protocol_timeout 1s; set_real_ip_from 127.0.0.1;"),
    stream("38091 proxy_protocol", "", "proxy_protocol_timeout 0;"),
    "stream { server { listen 127.0.0.1:38091 proxy_protocol; " + P + " } "
    "server { listen 38091; " + P + " } }",
    "http { proxy_protocol_timeout 1s; }",
    http("38081 proxy_protocol", "set_real_ip_from 127.0.0.1; real_ip_header proxy_protocol;"),
    http("38081 ssl proxy_protocol", "ssl_certificate x; ssl_certificate_key y;"),
    http(
        "38081 proxy_protocol", "location / { return 200 $proxy_protocol_addr$proxy_protocol_server_port; }"
    ),
    "http { server { listen 38081 proxy_protocol; } server { listen 38081; } }",
    "http { server { listen 127.0.0.1:38081 proxy_protocol; } server { listen 38081 proxy_protocol; } }",
    http("38081 proxy_protocol=on"),
]

UPSTREAM_SOCKETS = [
    stream("38091", "proxy_bind 127.0.0.1; proxy_socket_keepalive on;"),
    stream("38091", "proxy_bind 127.0.0.1:5000;"),
    stream("38091", "proxy_bind [::1];"),
    stream("38091", "proxy_bind [::1]:80;"),
    stream("38091", "proxy_bind $remote_addr;"),
    stream("38091", "proxy_bind $nosuch;"),
    stream("38091", "proxy_bind off;"),
    stream("38091", "proxy_bind 127.0.0.1; proxy_bind off;"),
    stream("38091", "proxy_bind localhost;"),
    stream("38091", "proxy_bind 127.0.0.1:x;"),
    stream("38091", "proxy_bind 127.0.0.1:70000;"),
    stream("38091", "proxy_bind 127.0.0.1 maybe;"),
    stream("38091", "proxy_bind off x;"),
    stream("38091", "proxy_socket_keepalive maybe;"),
    stream("38091", "", "proxy_bind 127.0.0.1; proxy_socket_keepalive on;"),
]

CASES = UDP + SOCKET_OPTIONS + PROXY_PROTOCOL + UPSTREAM_SOCKETS


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
            stream("38091 udp", "proxy_protocol on;"),
            'hapair does not support "proxy_protocol" in a server with "udp"',
        ),
        (stream("unix:/tmp/hapair-l4.sock udp"), 'hapair does not support "udp" on a unix socket'),
    ],
)
def test_what_hapair_refuses_is_named(prefix: Path, case: str, refusal: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert refusal in lines[0]


TLS = "ssl_certificate {crt}; ssl_certificate_key {key};"
TLS_CASES = [
    stream("38091 ssl", TLS),
    stream("38091 ssl", TLS + " ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers HIGH; ssl_handshake_timeout 5s;"),
    stream(
        "38091 ssl", TLS + " ssl_session_cache shared:S:1m; ssl_session_timeout 1h; ssl_session_tickets off;"
    ),
    stream("38091 ssl", TLS + " ssl_verify_client on; ssl_client_certificate {crt}; ssl_verify_depth 2;"),
    stream("38091 ssl", TLS + " ssl_verify_client optional_no_ca;"),
    stream("38091 ssl", TLS + " ssl_verify_client on;"),
    stream("38091 ssl", TLS + " ssl_verify_client maybe;"),
    stream("38091 ssl", TLS + " ssl_ciphers NOSUCH;"),
    stream("38091 ssl", TLS + " ssl_handshake_timeout x;"),
    stream("38091 ssl", TLS + " ssl_prefer_server_ciphers on; ssl_ecdh_curve prime256v1;"),
    stream("38091 ssl", TLS + " ssl_crl {junk};"),
    stream("38091 ssl"),
    stream("38091 ssl", "ssl_certificate {crt};"),
    stream("38091 ssl", "ssl_certificate {crt}; ssl_certificate {crt}; ssl_certificate_key {key};"),
    stream("38091 ssl", "ssl_certificate {junk}; ssl_certificate_key {key};"),
    stream("38091 ssl", "ssl_certificate {crt}; ssl_certificate_key {other_key};"),
    stream("38091", TLS),
    stream("38091", "ssl_certificate {junk};"),
    stream("38091 ssl", "", TLS),
    stream("38091", "proxy_ssl on; proxy_ssl_name backend.example; proxy_ssl_server_name on;"),
    stream("38091", "proxy_ssl on; proxy_ssl_verify on; proxy_ssl_trusted_certificate {crt};"),
    stream("38091", "proxy_ssl on; proxy_ssl_verify on;"),
    stream("38091", "proxy_ssl on; proxy_ssl_certificate {crt}; proxy_ssl_certificate_key {key};"),
    stream("38091", "proxy_ssl on; proxy_ssl_certificate {crt};"),
    stream("38091", "proxy_ssl on; proxy_ssl_ciphers NOSUCH;"),
    stream("38091", "proxy_ssl on; proxy_ssl_protocols TLSv1.3; proxy_ssl_session_reuse off;"),
    stream("38091", "proxy_ssl maybe;"),
    stream("38091", "proxy_ssl_verify on;"),
]


@pytest.mark.parametrize("case", TLS_CASES)
def test_stream_tls_as_nginx(prefix: Path, certificates: Certificates, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + with_certificates(case, certificates, prefix) + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)
