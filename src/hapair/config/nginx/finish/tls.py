"""The TLS checks nginx makes while it merges the configuration: cipher lists, certificates and keys,
CA bundles, with OpenSSL's errors as nginx prints them (ngx_event_openssl.c).

Files are read and checked with Python's `ssl` module (the same OpenSSL). The messages for the usual
failures (missing file, no PEM data, key not matching the certificate, unknown ciphers) are nginx's, byte
for byte; rarer OpenSSL failures keep nginx's first words and give OpenSSL's reason as Python reports it.
"""

from __future__ import annotations

import errno
import re
import ssl

from ..errors import ConfigError
from ..fields import (
    DEFAULT_BUILTIN_SCACHE,
    NO_BUILTIN_SCACHE,
    NO_SCACHE,
    NONE_SCACHE,
    PROXY_SSL_CERTIFICATE,
    PROXY_SSL_CERTIFICATE_KEY,
    PROXY_SSL_CIPHERS,
    PROXY_SSL_NAME,
    PROXY_SSL_PROTOCOLS,
    PROXY_SSL_SERVER_NAME,
    PROXY_SSL_SESSION_REUSE,
    PROXY_SSL_TRUSTED_CERTIFICATE,
    PROXY_SSL_VERIFY,
    PROXY_SSL_VERIFY_DEPTH,
    SSL_CERTIFICATE,
    SSL_CERTIFICATE_KEY,
    SSL_CIPHERS,
    SSL_PREFER_SERVER_CIPHERS,
    SSL_PROTOCOLS,
    SSL_SESSION_CACHE,
    SSL_SESSION_TIMEOUT,
)
from ..model.place import Place
from ..model.templates import Template, Variable
from ..model.tls import Certificate, ServerTls, SessionCache, SessionCacheMode, UpstreamTls
from ..paths import Paths
from ..settings import Level

DEFAULT_PROTOCOLS = frozenset({"TLSv1", "TLSv1.1", "TLSv1.2"})  # nginx 1.22's, for servers and upstreams
DEFAULT_SERVER_CIPHERS = "HIGH:!aNULL:!MD5"
DEFAULT_PROXY_CIPHERS = "DEFAULT"
DEFAULT_SESSION_TIMEOUT = 300
OPENSSL_DEFAULT_CACHE_SIZE = 20480  # SSL_SESSION_CACHE_MAX_SIZE_DEFAULT
PROXY_HOST = Template("$proxy_host", (Variable("proxy_host"),))

_CERTIFICATE_PEM = re.compile(rb"-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----")
_KEY_PEM = re.compile(rb"-----BEGIN (?:(?:RSA|EC|DSA|ENCRYPTED) )?PRIVATE KEY-----")
_ANY_CERTIFICATE_OR_CRL = re.compile(rb"-----BEGIN (?:(?:TRUSTED |X509 )?CERTIFICATE|X509 CRL)-----")


def check_ciphers(ciphers: str, origin: Place | None) -> None:
    """ngx_ssl_ciphers: OpenSSL must find at least one cipher (for TLS 1.2 and below) in the list."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.set_ciphers(ciphers)
    except ssl.SSLError as exc:
        raise ConfigError(
            f'SSL_CTX_set_cipher_list("{ciphers}") failed '
            "(SSL: error:0A0000B9:SSL routines::no cipher match)",
            None,
            origin,
        ) from exc


def _read(path: str, what: str, origin: Place | None) -> bytes:
    try:
        with open(path, "rb") as pem:
            return pem.read()
    except OSError as exc:
        raise ConfigError(
            f'cannot load {what} "{path}": BIO_new_file() failed ({_fopen_error(path, exc)})', None, origin
        ) from exc


def _fopen_error(path: str, exc: OSError) -> str:
    """OpenSSL 3's error queue after fopen() failed in BIO_new_file()."""
    code = exc.errno or 0
    bio = (
        "error:10000080:BIO routines::no such file"
        if code == errno.ENOENT
        else "error:10080002:BIO routines::system lib"
    )
    return f"SSL: error:{0x80000000 | code:08X}:system library::{exc.strerror}:calling fopen({path}, r) {bio}"


def check_certificate(certificate: str, key: str, origin: Place | None) -> None:
    """ngx_ssl_certificate: the certificate, then the key, then whether they belong together."""
    cert_data = _read(certificate, "certificate", origin)
    if not _CERTIFICATE_PEM.search(cert_data):
        raise ConfigError(
            f'cannot load certificate "{certificate}": PEM_read_bio_X509_AUX() failed '
            "(SSL: error:0480006C:PEM routines::no start line:Expecting: TRUSTED CERTIFICATE)",
            None,
            origin,
        )
    key_data = _read(key, "certificate key", origin)
    if not _KEY_PEM.search(key_data):
        raise ConfigError(
            f'cannot load certificate key "{key}": PEM_read_bio_PrivateKey() failed '
            "(SSL: error:1E08010C:DECODER routines::unsupported:"
            "No supported data to decode. Input type: PEM)",
            None,
            origin,
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificate, key)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            text = (
                f'SSL_CTX_use_PrivateKey("{key}") failed '
                "(SSL: error:05800074:x509 certificate routines::key values mismatch)"
            )
        else:
            text = f'cannot load certificate "{certificate}": {exc.strerror or exc}'
        raise ConfigError(text, None, origin) from exc


def check_trusted_certificate(path: str, origin: Place | None) -> None:
    """ngx_ssl_trusted_certificate: a CA bundle for SSL_CTX_load_verify_locations."""
    try:
        with open(path, "rb") as pem:
            data = pem.read()
    except OSError as exc:
        raise ConfigError(
            f'SSL_CTX_load_verify_locations("{path}") failed ({_fopen_error(path, exc)} '
            "error:05880002:x509 certificate routines::system lib)",
            None,
            origin,
        ) from exc
    if not _ANY_CERTIFICATE_OR_CRL.search(data):
        raise ConfigError(
            f'SSL_CTX_load_verify_locations("{path}") failed '
            "(SSL: error:05800088:x509 certificate routines::no certificate or crl found)",
            None,
            origin,
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(path)
    except ssl.SSLError as exc:
        raise ConfigError(
            f'SSL_CTX_load_verify_locations("{path}") failed ({exc.strerror or exc})', None, origin
        ) from exc


def server_tls(level: Level, paths: Paths) -> ServerTls | None:
    """The ssl module's merge of a server: its certificates (from the server or the http block) are
    checked and loaded; a server without one has no TLS."""
    certificates = level.find(SSL_CERTIFICATE)
    if certificates is None:
        return None
    keys = level.find(SSL_CERTIFICATE_KEY)
    if keys is None or len(keys.value) < len(certificates.value):
        raise ConfigError(
            f'no "ssl_certificate_key" is defined for certificate "{certificates.value[-1]}"',
            None,
            certificates.place,
        )
    ciphers = level.find(SSL_CIPHERS)
    check_ciphers(ciphers.value if ciphers else DEFAULT_SERVER_CIPHERS, (ciphers or certificates).place)
    pairs = tuple(
        Certificate(paths.from_conf_prefix(cert), paths.from_conf_prefix(key))
        for cert, key in zip(certificates.value, keys.value, strict=False)
    )
    for pair in pairs:
        check_certificate(pair.certificate, pair.key, certificates.place)
    return ServerTls(
        certificates=pairs,
        protocols=level.value(SSL_PROTOCOLS, DEFAULT_PROTOCOLS),
        ciphers=ciphers.value if ciphers else DEFAULT_SERVER_CIPHERS,
        prefer_server_ciphers=level.value(SSL_PREFER_SERVER_CIPHERS, False),
        session_cache=_session_cache(level),
        session_timeout=level.value(SSL_SESSION_TIMEOUT, DEFAULT_SESSION_TIMEOUT),
    )


def _session_cache(level: Level) -> SessionCache:
    """nginx merges the built-in cache and the shared zone of `ssl_session_cache` separately."""
    builtin: int | None = None
    shared: tuple[str, int] | None = None
    current: Level | None = level
    while current is not None:
        here = current.here(SSL_SESSION_CACHE)
        if here is not None:
            builtin = here.value.builtin if builtin is None else builtin
            shared = here.value.shared if shared is None else shared
        current = current.parent
    if builtin == NO_SCACHE:
        return SessionCache(SessionCacheMode.OFF, None, None, 0)
    if builtin is None or builtin == NONE_SCACHE:
        return SessionCache(SessionCacheMode.NONE, None, None, 0)
    size = {DEFAULT_BUILTIN_SCACHE: OPENSSL_DEFAULT_CACHE_SIZE, NO_BUILTIN_SCACHE: None}.get(builtin, builtin)
    name, shared_size = shared if shared is not None else (None, 0)
    return SessionCache(SessionCacheMode.ON, size, name, shared_size)


def upstream_tls(level: Level, paths: Paths, *, checked: bool) -> UpstreamTls:
    """The proxy module's TLS settings of a level; checked and loaded where `proxy_pass` is https."""
    if checked:
        _check_upstream_tls(level, paths)
    certificate = level.find(PROXY_SSL_CERTIFICATE)
    key = level.find(PROXY_SSL_CERTIFICATE_KEY)
    trusted = level.value(PROXY_SSL_TRUSTED_CERTIFICATE, "")
    client = None
    if certificate is not None and key is not None:
        client = Certificate(paths.from_conf_prefix(certificate.value), paths.from_conf_prefix(key.value))
    return UpstreamTls(
        certificate=client,
        protocols=level.value(PROXY_SSL_PROTOCOLS, DEFAULT_PROTOCOLS),
        ciphers=level.value(PROXY_SSL_CIPHERS, DEFAULT_PROXY_CIPHERS),
        verify=level.value(PROXY_SSL_VERIFY, False),
        trusted_certificate=paths.from_conf_prefix(trusted) if trusted else None,
        verify_depth=level.value(PROXY_SSL_VERIFY_DEPTH, 1),
        session_reuse=level.value(PROXY_SSL_SESSION_REUSE, True),
        server_name=level.value(PROXY_SSL_SERVER_NAME, False),
        name=level.value(PROXY_SSL_NAME, PROXY_HOST),
    )


def _check_upstream_tls(level: Level, paths: Paths) -> None:
    """ngx_http_proxy_set_ssl: ciphers, then the client certificate, then the CA bundle for `verify`."""
    ciphers = level.find(PROXY_SSL_CIPHERS)
    check_ciphers(ciphers.value if ciphers else DEFAULT_PROXY_CIPHERS, ciphers.place if ciphers else None)
    certificate = level.find(PROXY_SSL_CERTIFICATE)
    if certificate is not None:
        key = level.find(PROXY_SSL_CERTIFICATE_KEY)
        if key is None:
            raise ConfigError(
                f'no "proxy_ssl_certificate_key" is defined for certificate "{certificate.value}"',
                None,
                certificate.place,
            )
        cert_path, key_path = paths.from_conf_prefix(certificate.value), paths.from_conf_prefix(key.value)
        check_certificate(cert_path, key_path, certificate.place)
    verify = level.find(PROXY_SSL_VERIFY)
    if verify is not None and verify.value:
        trusted = level.find(PROXY_SSL_TRUSTED_CERTIFICATE)
        if trusted is None or not trusted.value:
            raise ConfigError("no proxy_ssl_trusted_certificate for proxy_ssl_verify", None, verify.place)
        check_trusted_certificate(paths.from_conf_prefix(trusted.value), trusted.place)
