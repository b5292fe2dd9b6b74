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

from hapair import openssl

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
    SSL_BUFFER_SIZE,
    SSL_CERTIFICATE,
    SSL_CERTIFICATE_KEY,
    SSL_CIPHERS,
    SSL_CLIENT_CERTIFICATE,
    SSL_CONF_COMMANDS,
    SSL_CRL,
    SSL_DHPARAM,
    SSL_ECDH_CURVE,
    SSL_ENABLE,
    SSL_PASSWORDS,
    SSL_PREFER_SERVER_CIPHERS,
    SSL_PROTOCOLS,
    SSL_REJECT_HANDSHAKE,
    SSL_SESSION_CACHE,
    SSL_SESSION_TICKETS,
    SSL_SESSION_TIMEOUT,
    SSL_TRUSTED_CERTIFICATE,
    SSL_VERIFY_CLIENT,
    SSL_VERIFY_DEPTH,
)
from ..model.place import Place
from ..model.templates import Template, Variable
from ..model.tls import (
    Certificate,
    ClientCertificates,
    ClientVerify,
    ServerTls,
    SessionCache,
    SessionCacheMode,
    UpstreamTls,
)
from ..paths import Paths
from ..settings import Level, Slot

DEFAULT_PROTOCOLS = frozenset({"TLSv1", "TLSv1.1", "TLSv1.2"})  # nginx 1.22's, for servers and upstreams
DEFAULT_SERVER_CIPHERS = "HIGH:!aNULL:!MD5"
DEFAULT_PROXY_CIPHERS = "DEFAULT"
DEFAULT_SESSION_TIMEOUT = 300
DEFAULT_ECDH_CURVE = "auto"
DEFAULT_BUFFER_SIZE = 16384  # NGX_SSL_BUFSIZE
OPENSSL_DEFAULT_CACHE_SIZE = 20480  # SSL_SESSION_CACHE_MAX_SIZE_DEFAULT
PROXY_HOST = Template("$proxy_host", (Variable("proxy_host"),))

_CERTIFICATE_PEM = re.compile(rb"-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----")
_KEY_PEM = re.compile(rb"-----BEGIN (?:(?:RSA|EC|DSA|ENCRYPTED) )?PRIVATE KEY-----")
_LOAD_VERIFY = "SSL_CTX_load_verify_locations"
_NOTHING_FOUND = "(SSL: error:05800088:x509 certificate routines::no certificate or crl found)"
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


def check_certificate(
    certificate: str, key: str, origin: Place | None, passwords: tuple[str, ...] = ()
) -> None:
    """ngx_ssl_certificate: the certificate, then the key (with each password in turn when it is
    encrypted), then whether they belong together."""
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
    try:
        openssl.load_certificate(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), certificate, key, passwords)
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            text = (
                f'SSL_CTX_use_PrivateKey("{key}") failed '
                "(SSL: error:05800074:x509 certificate routines::key values mismatch)"
            )
        else:
            text = f'cannot load certificate "{certificate}": {exc.strerror or exc}'
        raise ConfigError(text, None, origin) from exc


def check_trusted_certificate(path: str, origin: Place | None, call: str = _LOAD_VERIFY) -> None:
    """ngx_ssl_trusted_certificate, ngx_ssl_client_certificate: a CA bundle for
    SSL_CTX_load_verify_locations; ngx_ssl_crl: revocation lists for X509_LOOKUP_load_file (`call`)."""
    try:
        with open(path, "rb") as pem:
            data = pem.read()
    except OSError as exc:
        raise ConfigError(
            f'{call}("{path}") failed ({_fopen_error(path, exc)} '
            "error:05880002:x509 certificate routines::system lib)",
            None,
            origin,
        ) from exc
    if not _ANY_CERTIFICATE_OR_CRL.search(data):
        raise ConfigError(
            f'{call}("{path}") failed {_NOTHING_FOUND}',
            None,
            origin,
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        context.load_verify_locations(path)
    except ssl.SSLError as exc:
        raise ConfigError(f'{call}("{path}") failed ({exc.strerror or exc})', None, origin) from exc


def server_tls(level: Level, paths: Paths, *, stream: bool = False) -> ServerTls | None:
    """The ssl module's merge of a server (ngx_http_ssl_merge_srv_conf): its certificates (from the server
    or the http block) are checked and loaded, then the other settings OpenSSL checks; a server without
    certificates, `ssl on` or `ssl_reject_handshake on` has no TLS. `stream`: ngx_stream_ssl_merge_conf,
    which reads the trusted CAs and revocation lists only for a server verifying its clients."""
    certificates = level.find(SSL_CERTIFICATE)
    reject = level.value(SSL_REJECT_HANDSHAKE, False)
    enable = level.find(SSL_ENABLE)
    if enable is not None and enable.value:
        _check_enabled(level, enable.place, reject)
    elif certificates is not None:
        _check_keys(level, certificates.value, certificates.place, "")
    elif not reject:
        return None
    ciphers = level.find(SSL_CIPHERS)
    origin = (ciphers or certificates or enable).place if (ciphers or certificates or enable) else None
    check_ciphers(ciphers.value if ciphers else DEFAULT_SERVER_CIPHERS, origin)
    passwords = level.value(SSL_PASSWORDS, ())
    pairs: tuple[Certificate, ...] = ()
    if certificates is not None:
        keys = level.find(SSL_CERTIFICATE_KEY)
        assert keys is not None
        pairs = tuple(
            Certificate(paths.from_conf_prefix(cert), paths.from_conf_prefix(key))
            for cert, key in zip(certificates.value, keys.value, strict=False)
        )
        for pair in pairs:
            check_certificate(pair.certificate, pair.key, certificates.place, passwords)
    clients = _client_certificates(level, paths, when_verifying=stream)
    dhparam = level.find(SSL_DHPARAM)
    tls = ServerTls(
        certificates=pairs,
        protocols=level.value(SSL_PROTOCOLS, DEFAULT_PROTOCOLS),
        ciphers=ciphers.value if ciphers else DEFAULT_SERVER_CIPHERS,
        prefer_server_ciphers=level.value(SSL_PREFER_SERVER_CIPHERS, False),
        session_cache=_session_cache(level),
        session_timeout=level.value(SSL_SESSION_TIMEOUT, DEFAULT_SESSION_TIMEOUT),
        session_tickets=level.value(SSL_SESSION_TICKETS, True),
        passwords=passwords,
        dhparam=paths.from_conf_prefix(dhparam.value) if dhparam is not None and dhparam.value else None,
        ecdh_curve=level.value(SSL_ECDH_CURVE, DEFAULT_ECDH_CURVE),
        buffer_size=level.value(SSL_BUFFER_SIZE, DEFAULT_BUFFER_SIZE),
        conf_commands=level.value(SSL_CONF_COMMANDS, ()),
        reject_handshake=reject,
        clients=clients,
    )
    _check_openssl_settings(tls, origin)
    return tls


def _client_certificates(level: Level, paths: Paths, *, when_verifying: bool = False) -> ClientCertificates:
    """ngx_http_ssl_merge_srv_conf's client certificate part: `ssl_verify_client` needs
    `ssl_client_certificate` (but with `optional_no_ca`), which is loaded only then; then the trusted
    CAs and the revocation lists, in that order."""
    verify = level.find(SSL_VERIFY_CLIENT)
    mode = ClientVerify(verify.value) if verify is not None else ClientVerify.OFF
    client_certificate = None
    if mode is not ClientVerify.OFF:
        client_certificate = _bundle(level, paths, SSL_CLIENT_CERTIFICATE, _LOAD_VERIFY)
        if client_certificate is None and mode is not ClientVerify.OPTIONAL_NO_CA:
            origin = verify.place if verify is not None else None
            raise ConfigError("no ssl_client_certificate for ssl_verify_client", None, origin)
    if when_verifying and mode is ClientVerify.OFF:
        return ClientCertificates(mode, level.value(SSL_VERIFY_DEPTH, 1), None, None, None)
    return ClientCertificates(
        verify=mode,
        depth=level.value(SSL_VERIFY_DEPTH, 1),
        client_certificate=client_certificate,
        trusted_certificate=_bundle(level, paths, SSL_TRUSTED_CERTIFICATE, _LOAD_VERIFY),
        crl=_bundle(level, paths, SSL_CRL, "X509_LOOKUP_load_file"),
    )


def _bundle(level: Level, paths: Paths, slot: Slot[str], call: str) -> str | None:
    """The absolute path of a PEM file of certificates or revocation lists, checked; None without one."""
    found = level.find(slot)
    if found is None or not found.value:
        return None
    path = paths.from_conf_prefix(found.value)
    check_trusted_certificate(path, found.place, call)
    return path


def _check_enabled(level: Level, enabled: Place, reject: bool) -> None:
    """`ssl on`: certificates are needed, as for `listen ... ssl`, unless handshakes are rejected."""
    certificates = level.find(SSL_CERTIFICATE)
    where = f' the "ssl" directive in {enabled}'
    if certificates is not None:
        _check_keys(level, certificates.value, None, where)
    elif not reject:
        raise ConfigError(f'no "ssl_certificate" is defined for{where}', None, enabled)


def _check_keys(level: Level, certificates: tuple[str, ...], origin: Place | None, where: str) -> None:
    keys = level.find(SSL_CERTIFICATE_KEY)
    if where and keys is None:
        raise ConfigError(f'no "ssl_certificate_key" is defined for{where}', None, origin)
    if keys is None or len(keys.value) < len(certificates):
        and_where = f" and{where}" if where else ""
        raise ConfigError(
            f'no "ssl_certificate_key" is defined for certificate "{certificates[-1]}"{and_where}',
            None,
            origin,
        )


def _check_openssl_settings(tls: ServerTls, origin: Place | None) -> None:
    """ngx_ssl_dhparam, ngx_ssl_ecdh_curve and ngx_ssl_conf_commands on a context like the server's."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        if tls.dhparam is not None:
            openssl.load_dh_params(context, tls.dhparam)
        openssl.set_groups(context, tls.ecdh_curve)
        if tls.conf_commands:
            openssl.conf_commands(context, tls.conf_commands)
    except openssl.OpenSslError as exc:
        raise ConfigError(str(exc), None, origin) from exc


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
