"""TLS: the `ssl_*` directives of servers and the `proxy_ssl_*` ones towards upstream servers, with the
checks and OpenSSL messages nginx gives while it loads certificates."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.tls import Certificate, SessionCache, SessionCacheMode

from .conftest import Certificates, Read, error, location, server


def tls_server(certificates: Certificates, extra: str = "", http_level: str = "") -> str:
    pair = certificates.server
    return (
        f"events {{}}\nhttp {{\n{http_level}\nserver {{ listen 8443 ssl;\n"
        f"ssl_certificate {pair.certificate}; ssl_certificate_key {pair.key};\n{extra}\n}}\n}}\n"
    )


def upstream_tls(directives: str) -> str:
    return (
        "events {}\nhttp {\nupstream b { server 192.0.2.1:8443; }\n"
        f"server {{ listen 80; location / {{ proxy_pass https://b;\n{directives}\n}} }}\n}}\n"
    )


def test_a_server_with_a_certificate_has_tls_with_nginx_defaults(
    read: Read, certificates: Certificates
) -> None:
    tls = server(read(tls_server(certificates))).tls
    assert tls is not None
    pair = certificates.server
    assert (tls.certificates, tls.protocols, tls.ciphers, tls.prefer_server_ciphers, tls.session_timeout) == (
        (Certificate(str(pair.certificate), str(pair.key)),),
        frozenset({"TLSv1", "TLSv1.1", "TLSv1.2"}),
        "HIGH:!aNULL:!MD5",
        False,
        300,
    )
    assert tls.session_cache == SessionCache(SessionCacheMode.NONE, None, None, 0)


def test_a_server_without_certificate_has_no_tls(read: Read) -> None:
    assert server(read("events {}\nhttp { server { listen 80; } }\n")).tls is None


def test_tls_settings_are_read(read: Read, certificates: Certificates) -> None:
    extra = (
        "ssl_protocols TLSv1.3 TLSv1.2; ssl_ciphers HIGH:!aNULL; ssl_prefer_server_ciphers on; "
        "ssl_session_timeout 10m;"
    )
    tls = server(read(tls_server(certificates, extra))).tls
    assert tls is not None
    assert (tls.protocols, tls.ciphers, tls.prefer_server_ciphers, tls.session_timeout) == (
        frozenset({"TLSv1.2", "TLSv1.3"}),
        "HIGH:!aNULL",
        True,
        600,
    )


def test_certificates_relative_paths_are_from_the_configuration_directory(
    read: Read, conf_dir: Path, certificates: Certificates
) -> None:
    (conf_dir / "ssl").mkdir()
    (conf_dir / "ssl" / "s.crt").write_bytes(certificates.server.certificate.read_bytes())
    (conf_dir / "ssl" / "s.key").write_bytes(certificates.server.key.read_bytes())
    text = (
        "events {}\nhttp { server { listen 443 ssl; "
        "ssl_certificate ssl/s.crt; ssl_certificate_key ssl/s.key; } }\n"
    )
    tls = server(read(text)).tls
    assert tls is not None and tls.certificates == (
        Certificate(f"{conf_dir}/ssl/s.crt", f"{conf_dir}/ssl/s.key"),
    )


def test_servers_inherit_certificates_from_http(read: Read, certificates: Certificates) -> None:
    pair = certificates.server
    text = (
        f"events {{}}\nhttp {{ ssl_certificate {pair.certificate}; ssl_certificate_key {pair.key};\n"
        "server { listen 443 ssl; } }\n"
    )
    tls = server(read(text)).tls
    assert tls is not None and tls.certificates[0].certificate == str(pair.certificate)


@pytest.mark.parametrize(
    ("directive", "cache"),
    [
        ("ssl_session_cache off;", SessionCache(SessionCacheMode.OFF, None, None, 0)),
        ("ssl_session_cache none;", SessionCache(SessionCacheMode.NONE, None, None, 0)),
        ("ssl_session_cache builtin;", SessionCache(SessionCacheMode.ON, 20480, None, 0)),
        ("ssl_session_cache builtin:1000;", SessionCache(SessionCacheMode.ON, 1000, None, 0)),
        ("ssl_session_cache shared:SSL:10m;", SessionCache(SessionCacheMode.ON, None, "SSL", 10 * 1024**2)),
        (
            "ssl_session_cache builtin:1000 shared:SSL:10m;",
            SessionCache(SessionCacheMode.ON, 1000, "SSL", 10 * 1024**2),
        ),
    ],
)
def test_session_cache_forms(
    read: Read, certificates: Certificates, directive: str, cache: SessionCache
) -> None:
    tls = server(read(tls_server(certificates, directive))).tls
    assert tls is not None and tls.session_cache == cache


def test_the_builtin_cache_and_the_shared_zone_are_inherited_separately(
    read: Read, certificates: Certificates
) -> None:
    result = read(tls_server(certificates, "ssl_session_cache builtin:10;", "ssl_session_cache shared:S:1m;"))
    tls = server(result).tls
    assert tls is not None and tls.session_cache == SessionCache(SessionCacheMode.ON, 10, "S", 1024**2)


@pytest.mark.parametrize(
    ("extra", "http_level", "message"),
    [
        ("ssl_session_cache lots;", "", 'invalid session cache "lots"'),
        ("ssl_session_cache shared:S:1k;", "", 'session cache "shared:S:1k" is too small'),
        (
            "ssl_session_cache shared:S:2m;",
            "ssl_session_cache shared:S:1m;",
            'the size 2097152 of shared memory zone "S" conflicts with already declared size 1048576',
        ),
        ("ssl_protocols TLSv9;", "", 'invalid value "TLSv9"'),
        (
            "ssl_prefer_server_ciphers yes;",
            "",
            'invalid value "yes" in "ssl_prefer_server_ciphers" directive',
        ),
        (
            "ssl_certificate $host.crt;",
            "",
            'hapair does not support variables in the "ssl_certificate" directive',
        ),
    ],
)
def test_server_tls_errors(
    read: Read, certificates: Certificates, extra: str, http_level: str, message: str
) -> None:
    assert error(read(tls_server(certificates, extra, http_level))).startswith(f"nginx: [emerg] {message}")


def test_listen_ssl_needs_a_certificate_in_the_default_server(read: Read, conf_dir: Path) -> None:
    assert error(read("events {}\nhttp {\nserver {\nlisten 443 ssl;\n}\n}\n")) == (
        'nginx: [emerg] no "ssl_certificate" is defined for the "listen ... ssl" directive '
        f"in {conf_dir}/nginx.conf:3"
    )


def test_a_certificate_needs_a_key(read: Read, certificates: Certificates) -> None:
    certificate = certificates.server.certificate
    text = f"events {{}}\nhttp {{ server {{ listen 443 ssl; ssl_certificate {certificate}; }} }}\n"
    assert error(read(text)) == (
        f'nginx: [emerg] no "ssl_certificate_key" is defined for certificate "{certificate}"'
    )


def cert_error(read: Read, certificate: Path, key: Path) -> str:
    return error(
        read(
            f"events {{}}\nhttp {{ server {{ listen 443 ssl; ssl_certificate {certificate}; "
            f"ssl_certificate_key {key}; }} }}\n"
        )
    )


def test_a_missing_certificate_fails_as_openssl_fopen(
    read: Read, certificates: Certificates, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.crt"
    assert cert_error(read, missing, certificates.server.key) == (
        f'nginx: [emerg] cannot load certificate "{missing}": BIO_new_file() failed '
        f"(SSL: error:80000002:system library::No such file or directory:calling fopen({missing}, r) "
        "error:10000080:BIO routines::no such file)"
    )


def test_a_certificate_without_pem_data_has_no_start_line(read: Read, certificates: Certificates) -> None:
    assert cert_error(read, certificates.junk, certificates.server.key) == (
        f'nginx: [emerg] cannot load certificate "{certificates.junk}": PEM_read_bio_X509_AUX() failed '
        "(SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)"
    )


def test_a_key_without_pem_data_cannot_be_decoded(read: Read, certificates: Certificates) -> None:
    assert cert_error(read, certificates.server.certificate, certificates.junk) == (
        f'nginx: [emerg] cannot load certificate key "{certificates.junk}": PEM_read_bio_PrivateKey() failed '
        "(SSL: error:1E08010C:DECODER routines::unsupported:No supported data to decode. Input type: PEM)"
    )


def test_a_key_of_another_certificate_is_a_mismatch(read: Read, certificates: Certificates) -> None:
    assert cert_error(read, certificates.server.certificate, certificates.other_key) == (
        f'nginx: [emerg] SSL_CTX_use_PrivateKey("{certificates.other_key}") failed '
        "(SSL: error:05800074:x509 certificate routines::key values mismatch)"
    )


def test_a_cipher_list_that_selects_nothing_is_refused(read: Read, certificates: Certificates) -> None:
    assert error(read(tls_server(certificates, "ssl_ciphers NOTHING;"))) == (
        'nginx: [emerg] SSL_CTX_set_cipher_list("NOTHING") failed '
        "(SSL: error:0A0000B9:SSL routines::no cipher match)"
    )


def test_upstream_tls_defaults(read: Read) -> None:
    tls = location(read(upstream_tls(""))).settings.proxy.tls
    assert (tls.certificate, tls.protocols, tls.ciphers, tls.verify, tls.verify_depth, tls.session_reuse,
            tls.server_name, tls.name.source) == (
        None, frozenset({"TLSv1", "TLSv1.1", "TLSv1.2"}), "DEFAULT", False, 1, True, False, "$proxy_host"
    )  # fmt: skip


def test_upstream_tls_settings_are_read(read: Read, certificates: Certificates) -> None:
    pair = certificates.client
    directives = (
        f"proxy_ssl_certificate {pair.certificate}; proxy_ssl_certificate_key {pair.key}; "
        "proxy_ssl_protocols TLSv1.3; proxy_ssl_verify on; "
        f"proxy_ssl_trusted_certificate {certificates.server.certificate}; proxy_ssl_verify_depth 2; "
        "proxy_ssl_session_reuse off; proxy_ssl_server_name on; proxy_ssl_name api.example;"
    )
    tls = location(read(upstream_tls(directives))).settings.proxy.tls
    assert (tls.certificate, tls.protocols, tls.verify, tls.trusted_certificate, tls.verify_depth,
            tls.session_reuse, tls.server_name, tls.name.source) == (
        Certificate(str(pair.certificate), str(pair.key)), frozenset({"TLSv1.3"}), True,
        str(certificates.server.certificate), 2, False, True, "api.example",
    )  # fmt: skip


def test_upstream_tls_is_checked_only_where_proxy_pass_is_https(read: Read) -> None:
    text = (
        "events {}\nhttp { proxy_ssl_verify on; "
        "server { listen 80; location / { proxy_pass http://192.0.2.1; } } }\n"
    )
    assert location(read(text)).settings.proxy.tls.verify


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ("proxy_ssl_verify on;", "no proxy_ssl_trusted_certificate for proxy_ssl_verify"),
        ("proxy_ssl_ciphers NOTHING;", 'SSL_CTX_set_cipher_list("NOTHING") failed'),
        (
            "proxy_ssl_certificate $x;",
            'hapair does not support variables in the "proxy_ssl_certificate" directive',
        ),
    ],
)
def test_upstream_tls_errors(read: Read, directives: str, message: str) -> None:
    assert error(read(upstream_tls(directives))).startswith(f"nginx: [emerg] {message}")


def test_a_client_certificate_needs_a_key(read: Read, certificates: Certificates) -> None:
    certificate = certificates.client.certificate
    assert error(read(upstream_tls(f"proxy_ssl_certificate {certificate};"))) == (
        f'nginx: [emerg] no "proxy_ssl_certificate_key" is defined for certificate "{certificate}"'
    )


def test_a_ca_bundle_without_certificates_is_refused(read: Read, certificates: Certificates) -> None:
    directives = f"proxy_ssl_verify on; proxy_ssl_trusted_certificate {certificates.junk};"
    assert error(read(upstream_tls(directives))) == (
        f'nginx: [emerg] SSL_CTX_load_verify_locations("{certificates.junk}") failed '
        "(SSL: error:05800088:x509 certificate routines::no certificate or crl found)"
    )


def test_a_missing_ca_bundle_fails_as_openssl_fopen(read: Read, tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    assert error(read(upstream_tls(f"proxy_ssl_verify on; proxy_ssl_trusted_certificate {missing};"))) == (
        f'nginx: [emerg] SSL_CTX_load_verify_locations("{missing}") failed '
        f"(SSL: error:80000002:system library::No such file or directory:calling fopen({missing}, r) "
        "error:10000080:BIO routines::no such file "
        "error:05880002:x509 certificate routines::system lib)"
    )
