"""The real `nginx -t` (Debian's nginx 1.22.1 with libnginx-mod-stream) beside `hapair proxy -t`, on the
seed's two files and on small configurations around every supported directive: same exit status and the
same lines on stderr. nginx runs with `-e FILE`, so that it prints its messages as `nginx: [emerg] ...`
(Debian's build logs them with a timestamp to stderr otherwise), and with `-g 'pid FILE;'`. The deliberate
differences (directives and parameters hapair does not implement) are asserted as such.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .commandline import NGINX, hapair, nginx
from .conftest import Certificates
from .seed_configs import SEED_HTTP, SEED_STREAM, adapted

STREAM_MODULE = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
MISSING = (
    "nginx is not installed"
    if not Path(NGINX).exists()
    else "libnginx-mod-stream is not installed"
    if not STREAM_MODULE.exists()
    else "nginx -t needs root to open its default log and temp paths"
    if os.geteuid() != 0
    else None
)
pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

HEAD = f"load_module {STREAM_MODULE};\nevents {{}}\n"

# configurations after HEAD; {crt}, {key}, {other_key}, {junk} name the test certificates
CASES = [
    "http { server { listen 38081; location / { proxy_pass http://127.0.0.1:9; } } }",
    "foo;",
    "http { foo on; }",
    "http { proxy_pass http://x; }",
    "}",
    "http {",
    "http { server { listen; } }",
    "http { server { listen 38081 foo; } }",
    "http { server { listen 0; } }",
    "http { server { listen 70000; } }",
    "http { server { listen [::1:80; } }",
    "http { server { listen 38081-38083; } }",
    "http { server { listen 38082-38081; } }",
    "http { server { listen localhost:38081; } }",
    "http { server { listen [::]:38081 ipv6only=off; } }",
    "http { server { listen 38081 backlog=0; } }",
    "http { server { listen 1.2.3.4:38081; } }",
    "http { server { listen 38081; listen 38081; } }",
    "http { server { listen 38081 backlog=10; } server { listen 38081 reuseport; } }",
    "http { server { listen 38081 default_server; } server { listen 38081 default; } }",
    "http { server { listen 127.0.0.1:38081 bind; listen 38081; } server { listen 127.0.0.2:38081; } }",
    "worker_processes auto;",
    "worker_processes foo;",
    "worker_processes 1; worker_processes 2;",
    '"unterminated',
    "http { server { listen 38081; server_name \"a b\" 'c'; } }",
    "http { server { listen 38081; server_name *; } }",
    "http { server { listen 38081; server_name a/b; } }",
    "http { server { listen 38081; server_name a; } server { listen 38081; server_name .a; } }",
    "http { server { listen 38081; server_name www.*.com; } server { listen 38081; } }",
    f"http {{ server {{ listen 38081; server_name {'a' * 47}; }} server {{ listen 38081; }} }}",
    "http { server { listen 38081; } server { listen 38081; } }",
    "http { proxy_read_timeout 90; proxy_read_timeout 10; }",
    "http { proxy_read_timeout abc; }",
    "http { proxy_read_timeout 1y; }",
    "http { proxy_http_version 2.0; }",
    "http { proxy_next_upstream error foo; }",
    "http { proxy_next_upstream error error; }",
    "http { client_max_body_size 10x; }",
    "http { keepalive_timeout abc; }",
    "http { keepalive_timeout 65 x; }",
    "http { keepalive_timeout 65s 60s; server { keepalive_timeout 5; } }",
    "http { keepalive_timeout 65; keepalive_timeout 60; }",
    "http { server { location / { keepalive_timeout 1 2 3; } } }",
    "http { client_header_timeout 1h; client_body_timeout 30s; send_timeout 10; keepalive_requests 100; }",
    "http { server { location / { client_header_timeout 1s; } } }",
    "http { keepalive_requests x; }",
    "http { send_timeout -1; }",
    "http { proxy_ssl_verify maybe; }",
    "http { log_format x '$foo'; }",
    "http { log_format x '$'; }",
    "http { log_format x '${abc'; }",
    "http { log_format combined 'x'; }",
    "http { access_log logs/a.log nosuchformat; }",
    "http { access_log off foo; }",
    "http { access_log logs/a.log combined flush=1s; }",
    "http { access_log logs/a.log combined foo=bar; }",
    "http { access_log /nonexistent/dir/a.log; server { listen 38081; } }",
    "http { upstream u { server 127.0.0.1 weight=0; } }",
    "http { upstream u { server 127.0.0.1 max_fails=x; } }",
    "http { upstream u { server 127.0.0.1 foo; } }",
    "http { upstream u { server 127.0.0.1; keepalive 0; } }",
    "http { upstream u { server 127.0.0.1; keepalive 8; least_conn; } }",
    "http { upstream u { server 127.0.0.1 backup; } }",
    "http { upstream u {} }",
    "http { upstream u { server 127.0.0.1; } upstream U { server 127.0.0.1; } }",
    "http { upstream u { server 127.0.0.1:1; } "
    "server { listen 38081; location / { proxy_pass http://u:81; } } }",
    "http { server { listen 38081; location / { proxy_pass http://u:81; } "
    "} upstream u { server 127.0.0.1; } }",
    "http { server { listen 38081; location / { proxy_pass ftp://x; } } }",
    "http { server { listen 38081; location / { proxy_pass http://localhost:9; } } }",
    "http { server { listen 38081; location ~ /a { proxy_pass http://127.0.0.1/x; } } }",
    "http { server { listen 38081; location = /a { location /a/b {} } } }",
    "http { server { listen 38081; location /a { location /b {} } } }",
    "http { server { listen 38081; location ^~ /a {} location /a {} } }",
    "http { server { listen 38081; location = /a {} location /a {} } }",
    "http { server { listen 38081; location foo /a {} } }",
    'http { server { listen 38081; location / { proxy_set_header X "$"; } } }',
    'http { server { listen 38081; location / { proxy_set_header X "$foo"; } } }',
    'http { server { listen 38081; location / { proxy_set_header X "${remote_addr"; } } }',
    'http { server { listen 38081; location ~ ^/(?<name>.+)$ { proxy_set_header X "$name"; } } }',
    "http { ssl_session_cache foo; }",
    "http { ssl_session_cache shared:X:1k; }",
    "http { ssl_session_cache shared:X:1m; server { ssl_session_cache shared:X:2m; } }",
    "http { ssl_protocols TLSv1.2 TLSv1.2; }",
    "http { server { listen 38081 ssl; } }",
    "http { server { listen 38081 ssl; ssl_certificate {crt}; ssl_certificate_key {key}; } }",
    "http { server { listen 38081 ssl; ssl_certificate {crt}; } }",
    "http { server { listen 38081 ssl; ssl_certificate {crt}; ssl_certificate_key {other_key}; } }",
    "http { server { listen 38081 ssl; ssl_certificate {junk}; ssl_certificate_key {key}; } }",
    "http { server { listen 38081 ssl; ssl_certificate {crt}; ssl_certificate_key {junk}; } }",
    "http { server { listen 38081 ssl; ssl_certificate nosuch.crt; ssl_certificate_key {key}; } }",
    "http { server { listen 38081 ssl; ssl_certificate {crt}; ssl_certificate_key {key}; ssl_ciphers FOO; } "
    "}",
    "http { server { listen 38081; location / { proxy_pass https://127.0.0.1; proxy_ssl_verify on; } } }",
    "http { server { listen 38081; location / { proxy_pass https://127.0.0.1; proxy_ssl_certificate {crt}; } "
    "} }",
    "http { server { listen 38081; location / { proxy_pass https://127.0.0.1; proxy_ssl_ciphers FOO; } } }",
    "http { server { listen 38081; location / { proxy_pass https://127.0.0.1; proxy_ssl_verify on;"
    " proxy_ssl_trusted_certificate {junk}; } } }",
    "stream { server { listen 38091; } }",
    "stream { server { proxy_pass 127.0.0.1:9; } }",
    "stream { server { listen 38091; proxy_pass backend; } }",
    "stream { server { listen 38091; proxy_pass 127.0.0.1:9; } "
    "server { listen 38091; proxy_pass 127.0.0.1:9; } }",
    "stream { server { listen 38091 foo; proxy_pass 127.0.0.1:9; } }",
    "stream { upstream u { server 127.0.0.1; } }",
    "stream { access_log logs/s.log; }",
    "stream { server { listen 38091; proxy_pass 127.0.0.1:9; proxy_timeout 5; proxy_connect_timeout 1s; } }",
    "stream { server { listen 38091; proxy_pass u:80; } upstream u { server 127.0.0.1:9; } }",
    "stream { upstream u { server 127.0.0.1:9 backup; } server { listen 38091; proxy_pass u; } }",
    "stream { log_format a '$foo'; }",
    "error_log logs/e.log foo;",
    "error_log logs/e.log warn error;",
    "error_log /nonexistent/dir/e.log;",
    "events { worker_connections 1; } http { server { listen 38081; } }",
    "include nosuch.conf;",
    # errors found at different stages: nginx reports the first stage's
    "http { server { listen 38081 ssl; location / { proxy_set_header X $nosuch; } "
    "location /a {} location /a {} } }",
    "http { server { listen 38081 ssl; location / { proxy_set_header X $nosuch; } } }",
    "http { upstream u { server 127.0.0.1 backup; } "
    "server { listen 38081; ssl_certificate nosuch.crt; ssl_certificate_key {key}; } }",
    "http { server { listen 38081; location / { proxy_pass https://127.0.0.1; proxy_ssl_ciphers FOO; "
    "proxy_set_header X $; } } }",
    "http { server { listen 38081; location /a {} location /a {} } "
    "server { listen 38081; location /b {} location /b {} } }",
    "http { server { listen 38081; location /a { location /a/x {} location /a/x {} } location /a {} } }",
    "http { log_format a '$zzz'; server { listen 38081; location / { proxy_set_header X $aaa; } } }",
    "http { server { listen 38081; location / { access_log logs/a.log combined if=$nosuch; } } }",
    "http { server { listen 38081; server_name ~^(?<sub>.+)\\.example$; "
    "location / { proxy_set_header X $sub; } } }",
    "stream { access_log logs/a.log x; log_format x 'a'; }",
    "stream { server { listen unix:{prefix}/s.sock; proxy_pass 127.0.0.1:9; } }",
    "include nosuch*.conf;",
    "http {} http {}",
]

# nginx accepts these; hapair refuses them, naming what it does not implement
UNSUPPORTED = [
    ("http { gunzip on; }", 'hapair does not support the "gunzip" directive'),
    (
        "http { server { listen 38081; location / { fastcgi_pass 127.0.0.1:9; } } }",
        'hapair does not support the "fastcgi_pass" directive',
    ),
    ("http { server { listen 38081 http2; } }", 'hapair does not support the "http2" parameter'),
    (
        "http { server { listen 38081; proxy_set_header X $ssl_session_id; } }",
        'the "$ssl_session_id" variable',
    ),
]


def command_line(conf: Path, prefix: Path) -> list[str]:
    return ["-t", "-c", str(conf), "-p", f"{prefix}/", "-e", f"{prefix}/logs/nginx.log",
            "-g", f"pid {prefix}/nginx.pid;"]  # fmt: skip


def nginx_t(conf: Path, prefix: Path) -> tuple[int, list[str]]:
    ran = nginx(*command_line(conf, prefix))
    return ran.status, ran.stderr.splitlines()


def hapair_t(conf: Path, prefix: Path) -> tuple[int, list[str]]:
    ran = hapair(*command_line(conf, prefix))
    return ran.status, ran.stderr.splitlines()


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


def with_certificates(text: str, certificates: Certificates, prefix: Path) -> str:
    names = {
        "{prefix}": prefix,
        "{crt}": certificates.server.certificate,
        "{key}": certificates.server.key,
        "{other_key}": certificates.other_key,
        "{junk}": certificates.junk,
    }
    for name, path in names.items():
        text = text.replace(name, str(path))
    return text


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, certificates: Certificates, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + with_certificates(case, certificates, prefix) + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


@pytest.mark.parametrize(("case", "refusal"), UNSUPPORTED)
def test_what_hapair_does_not_implement_is_refused_where_nginx_accepts_it(
    prefix: Path, case: str, refusal: str
) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status, refusal in lines[0]) == (0, 1, True)


def seed_files(prefix: Path, certificates: Certificates) -> None:
    """The seed's files in conf.d/ and tcpconf.d/, and nginx.conf's that include them as Debian's does."""
    server = (certificates.server.certificate, certificates.server.key)
    client = (certificates.client.certificate, certificates.client.key)
    for directory, text in (("conf.d", SEED_HTTP), ("tcpconf.d", SEED_STREAM)):
        (prefix / directory).mkdir()
        (prefix / directory / "k8sapi.conf").write_text(
            adapted(text, prefix / "logs", server, client, "127.0.0.1")
        )
    (prefix / "l7.conf").write_text("events {}\nhttp {\ninclude conf.d/k8sapi.conf;\n}\n")
    (prefix / "l4.conf").write_text(HEAD + "include tcpconf.d/k8sapi.conf;\n")


@pytest.mark.parametrize(("snippet", "whole"), [("conf.d", "l7.conf"), ("tcpconf.d", "l4.conf")])
def test_the_seed_files_pass_both(prefix: Path, certificates: Certificates, snippet: str, whole: str) -> None:
    seed_files(prefix, certificates)
    assert (hapair_t(prefix / snippet / "k8sapi.conf", prefix)[0], nginx_t(prefix / whole, prefix)[0]) == (
        0,
        0,
    )


@pytest.mark.parametrize(
    ("snippet", "whole", "old", "new"),
    [
        ("conf.d", "l7.conf", "proxy_read_timeout  90;", "proxy_read_timeout  90q;"),
        ("conf.d", "l7.conf", "listen 8443 ssl;", "listen 8443 ssl bogus;"),
        ("conf.d", "l7.conf", "$remote_addr;", "$remote_adr;"),
        ("conf.d", "l7.conf", "proxy_ssl_verify_depth  2;", "proxy_ssl_verify  on;"),
        ("conf.d", "l7.conf", "server 127.0.0.1:8443;", "server 127.0.0.1:8443 weight=0;"),
        ("tcpconf.d", "l4.conf", "k8sapilogs;", "k8sapilog;"),
        ("tcpconf.d", "l4.conf", "proxy_pass k8s-api;", "proxy_pass k8s-api:8080;"),
        ("tcpconf.d", "l4.conf", "warn;", "warning;"),
    ],
)
def test_errors_in_the_seed_files_are_nginx_errors(
    prefix: Path, certificates: Certificates, snippet: str, whole: str, old: str, new: str
) -> None:
    seed_files(prefix, certificates)
    path = prefix / snippet / "k8sapi.conf"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new, 1))
    (hapair_status, hapair_lines), (nginx_status, nginx_lines) = (
        hapair_t(path, prefix),
        nginx_t(prefix / whole, prefix),
    )
    assert (hapair_status, hapair_lines[0]) == (nginx_status, nginx_lines[0])
