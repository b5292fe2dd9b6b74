"""Whole reads: the three forms a file may take, the seed's two files, and what nginx does once the file
is read (connections, log files, `-t`'s sockets)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from hapair.config.nginx.load import detect_form, load
from hapair.config.nginx.model.config import InputForm
from hapair.config.nginx.model.http import LocationMatch
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.system import LocalSystem

from .conftest import Certificates, LabSystem, Read, config, error, http, stream
from .seed_configs import SEED_HTTP, SEED_STREAM, adapted


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("events {}\nhttp {}\n", InputForm.WHOLE),
        ("user www-data;\nhttp {}\nevents { worker_connections 768; }\n", InputForm.WHOLE),
        ("upstream u { server 192.0.2.1; }\n", InputForm.HTTP_SNIPPET),
        ("# conf.d\ninclude common.conf;\nserver { listen 80; }\n", InputForm.HTTP_SNIPPET),
        ("log_format main '$uri';\n", InputForm.HTTP_SNIPPET),
        ("stream { }\n", InputForm.MAIN_SNIPPET),
        ("worker_processes 2;\nhttp { server { listen 80; } }\n", InputForm.MAIN_SNIPPET),
        ("error_log logs/e.log;\n", InputForm.MAIN_SNIPPET),
        ("foo;\n", InputForm.MAIN_SNIPPET),
        ('"unterminated\n', InputForm.WHOLE),
    ],
)
def test_the_form_of_a_file_is_told_by_its_top_level_directives(
    tmp_path: Path, text: str, form: InputForm
) -> None:
    path = tmp_path / "x.conf"
    path.write_text(text)
    assert detect_form(str(path)) is form


def test_an_http_snippet_is_read_as_the_inside_of_http(read: Read) -> None:
    model = config(read("server { listen 80; }\n"))
    assert (model.form, model.http is not None and len(model.http.servers)) == (InputForm.HTTP_SNIPPET, 1)


def test_a_main_snippet_needs_no_events_block(read: Read) -> None:
    assert config(read("worker_processes 2;\n")).form is InputForm.MAIN_SNIPPET


def test_a_directive_of_the_main_context_in_an_http_snippet_is_not_allowed(read: Read) -> None:
    assert error(read("server { listen 80; }\nworker_processes 2;\n")).startswith(
        'nginx: [emerg] "worker_processes" directive is not allowed here'
    )


def test_errors_found_when_an_http_snippet_ends_are_placed_at_its_end(read: Read, conf_dir: Path) -> None:
    assert error(read("server { listen 80; proxy_set_header A $; }\n\n")) == (
        f"nginx: [emerg] invalid variable name in {conf_dir}/nginx.conf:3"
    )


def seed_files(conf_dir: Path, certificates: Certificates) -> tuple[str, str]:
    server = (certificates.server.certificate, certificates.server.key)
    client = (certificates.client.certificate, certificates.client.key)
    logs = conf_dir / "logs"
    return (
        adapted(SEED_HTTP, logs, server, client, "127.0.0.1"),
        adapted(SEED_STREAM, logs, server, client, "127.0.0.1"),
    )


def test_the_seed_l7_file_gives_two_servers_proxying_to_their_upstreams(
    read: Read, conf_dir: Path, certificates: Certificates
) -> None:
    seed_http, _ = seed_files(conf_dir, certificates)
    model = http(read(seed_http, name="k8sapi.conf"))
    plain, tls = model.servers
    assert [(s.names, s.listens[0].address.text, s.listens[0].ssl) for s in model.servers] == [
        (("k8sapi-vrrp.kloud.lan",), "0.0.0.0:8080", False),
        (("k8sapi-vrrp.kloud.lan",), "0.0.0.0:8443", True),
    ]
    for found, scheme, upstream in ((plain, "http", "k8s-api-8080"), (tls, "https", "k8s-api-8443")):
        (root,) = found.locations
        target = root.settings.proxy.target
        assert target is not None
        assert (
            root.match,
            root.path,
            target.scheme,
            target.upstream.name,
            root.settings.proxy.read_timeout,
        ) == (
            LocationMatch.PREFIX,
            "/",
            scheme,
            upstream,
            90_000,
        )


def test_the_seed_l7_file_sets_the_proxy_headers_and_logs(
    read: Read, conf_dir: Path, certificates: Certificates
) -> None:
    seed_http, _ = seed_files(conf_dir, certificates)
    settings = http(read(seed_http, name="k8sapi.conf")).servers[0].locations[0].settings
    assert [(h.name, h.value.source) for h in settings.proxy.headers[:4]] == [
        ("Host", "$http_host"),
        ("X-Real-IP", "$remote_addr"),
        ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
        ("X-Forwarded-Proto", "https"),
    ]
    assert [(log.path, log.format.name) for log in settings.access_logs] == [
        (f"{conf_dir}/logs/keepalived.access.log", "combined")
    ]
    assert [(log.target, log.level) for log in settings.error_logs] == [
        (f"{conf_dir}/logs/keepalived.error.log", ErrorLevel.ERROR)
    ]


def test_the_seed_l7_file_terminates_tls_and_presents_a_client_certificate_upstream(
    read: Read, conf_dir: Path, certificates: Certificates
) -> None:
    seed_http, _ = seed_files(conf_dir, certificates)
    tls_server = http(read(seed_http, name="k8sapi.conf")).servers[1]
    assert tls_server.tls is not None
    assert (
        tls_server.tls.protocols,
        tls_server.tls.prefer_server_ciphers,
        tls_server.tls.session_cache.builtin,
    ) == (
        frozenset({"TLSv1.2", "TLSv1.3"}),
        True,
        1000,
    )
    upstream_tls = tls_server.locations[0].settings.proxy.tls
    assert upstream_tls.certificate is not None
    assert (upstream_tls.certificate.certificate, upstream_tls.verify_depth, upstream_tls.session_reuse) == (
        str(certificates.client.certificate),
        2,
        True,
    )


def test_the_seed_l4_file_relays_8080_to_its_upstream_with_its_log_format(
    read: Read, conf_dir: Path, certificates: Certificates
) -> None:
    _, seed_stream = seed_files(conf_dir, certificates)
    result = read(seed_stream, name="k8sapi.conf")
    (server,) = stream(result).servers
    (log,) = server.access_logs
    assert (config(result).form, server.listens[0].address.text, server.proxy.upstream.name) == (
        InputForm.MAIN_SNIPPET,
        "0.0.0.0:8080",
        "k8s-api",
    )
    assert log.format.template.source == (
        "[$time_local] $remote_addr:$remote_port $server_addr:$server_port "
        "$protocol $status $bytes_sent $bytes_received $session_time"
    )
    assert [(e.target, e.level) for e in server.error_logs] == [
        (f"{conf_dir}/logs/keepalived.error.log", ErrorLevel.WARN)
    ]


def test_the_seed_l7_file_as_written_fails_where_nginx_fails_without_its_certificates(read: Read) -> None:
    assert error(read(SEED_HTTP, name="k8sapi.conf")).startswith(
        'nginx: [emerg] cannot load certificate "/etc/ssl/certs/k8sapiserver.crt": BIO_new_file() failed'
    )


def test_too_few_worker_connections_fail_after_syntax_is_ok(read: Read) -> None:
    result = read("events { worker_connections 2; }\nhttp { server { listen 80; } server { listen 81; } }\n")
    assert (result.syntax_ok, error(result)) == (
        True,
        "nginx: [emerg] 2 worker_connections are not enough for 2 listening sockets",
    )


def test_test_mode_binds_each_listening_socket(read: Read) -> None:
    system = LabSystem()
    text = (
        "events {}\nhttp { server { listen 80; } }\n"
        "stream { server { listen 6443; proxy_pass 192.0.2.1:1; } }\n"
    )
    read(text, system=system, test=True)
    assert system.bound == ["0.0.0.0:80", "0.0.0.0:6443"]


def test_reading_without_test_mode_binds_nothing(read: Read) -> None:
    system = LabSystem()
    read("events {}\nhttp { server { listen 80; } }\n", system=system)
    assert system.bound == []


def test_a_socket_that_cannot_be_bound_fails_as_nginx_bind(conf_dir: Path) -> None:
    (conf_dir / "x.conf").write_text(
        "events {}\nstream { server { listen 192.0.2.77:6443; proxy_pass 192.0.2.1:1; } }\n"
    )
    result = load("x.conf", f"{conf_dir}/", LocalSystem(), test=True)
    assert (
        error(result)
        == "nginx: [emerg] bind() to 192.0.2.77:6443 failed (99: Cannot assign requested address)"
    )


def test_a_socket_in_use_is_accepted_in_test_mode(conf_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        (conf_dir / "x.conf").write_text(
            f"events {{}}\nstream {{ server {{ listen 127.0.0.1:{port}; proxy_pass 192.0.2.1:1; }} }}\n"
        )
        assert load("x.conf", f"{conf_dir}/", LocalSystem(), test=True).error is None


def test_log_files_are_created_as_nginx_creates_them(conf_dir: Path) -> None:
    (conf_dir / "x.conf").write_text("error_log logs/new.log;\nevents {}\n")
    load("x.conf", f"{conf_dir}/", LocalSystem())
    assert (conf_dir / "logs" / "new.log").exists()


def test_messages_before_and_after_syntax_is_ok_are_kept_apart(read: Read) -> None:
    result = read(
        "events {}\nhttp { server { listen 80; } server { listen 80; } }\n",
        system=LabSystem(unwritable={"/var/log/nginx/access.log"}),
    )
    assert (
        [m.severity.value for m in result.reading],
        result.syntax_ok,
        [m.severity.value for m in result.starting],
    ) == (
        ["warn"],
        True,
        ["emerg"],
    )
