"""Client certificates as nginx's http ssl module judges them (`ssl_verify_client`): the handshake takes
any certificate (hapair.openssl's verify callback, as nginx's), and each request of a server that
verifies is then checked before its phases (ngx_http_process_request): a chain that did not verify gets
495, answered 400 "The SSL certificate error" (with `optional_no_ca`, an unknown issuer is let through),
and `ssl_verify_client on` without a certificate 496, answered 400 "No required SSL certificate was
sent"; both logged at `info`. And the `$ssl_client_*` variables, from the connection's certificate as
OpenSSL prints it."""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.model.tls import ClientCertificates, ClientVerify

from .escapes import escape_uri_component
from .logcontext import log_request_error
from .pages import CERT_ERROR, NO_CERT

if TYPE_CHECKING:
    from hapair import openssl

    from .exchange import Exchange

CertificateCheck = Callable[["Exchange"], int]
_READING = "reading client request headers"  # where nginx is when it judges the certificate
_DAY = 86400
# each connection's certificate, read once (None: the client sent none)
_CERTIFICATES: weakref.WeakKeyDictionary[ssl.SSLObject, openssl.CertificateText | None] = (
    weakref.WeakKeyDictionary()
)


def certificate_check(clients: ClientCertificates) -> CertificateCheck | None:
    """The check a server's requests go through; None when the server does not verify clients."""
    if clients.verify is ClientVerify.OFF:
        return None
    unknown_issuer_allowed = clients.verify is ClientVerify.OPTIONAL_NO_CA
    required = clients.verify is ClientVerify.ON

    def check(ex: Exchange) -> int:
        connection = ex.client.ssl_object
        if connection is None:
            return 0  # a plain HTTP request: nginx's ssl module judges only TLS connections
        from hapair import openssl  # noqa: PLC0415 (TLS only: as tls.server_context, which imported it)

        result = openssl.verify_result(connection)
        if result != openssl.X509_V_OK and not (
            unknown_issuer_allowed and result in openssl.UNKNOWN_ISSUER_ERRORS
        ):
            text = openssl.verify_error_text(result)
            log_request_error(
                ex, ErrorLevel.INFO, f"client SSL certificate verify error: ({result}:{text})", _READING
            )
            return CERT_ERROR
        if required and connection.getpeercert(binary_form=True) is None:
            log_request_error(ex, ErrorLevel.INFO, "client sent no required SSL certificate", _READING)
            return NO_CERT
        return 0

    return check


def _certificate(ex: Exchange) -> openssl.CertificateText | None:
    connection = ex.client.ssl_object
    if connection is None:
        return None
    if connection not in _CERTIFICATES:
        from hapair import openssl  # noqa: PLC0415 (TLS only: as tls.server_context, which imported it)

        der = connection.getpeercert(binary_form=True)
        _CERTIFICATES[connection] = openssl.CertificateText(der) if der else None
    return _CERTIFICATES[connection]


def _field(read: Callable[[openssl.CertificateText], str]) -> Callable[[Exchange], str | None]:
    """A variable of the client's certificate: not found (as nginx's empty values) without one."""

    def value(ex: Exchange) -> str | None:
        certificate = _certificate(ex)
        return None if certificate is None else read(certificate) or None

    return value


def _der(ex: Exchange) -> bytes | None:
    connection = ex.client.ssl_object
    return None if connection is None else connection.getpeercert(binary_form=True)


def _pem(ex: Exchange) -> str | None:
    der = _der(ex)
    return ssl.DER_cert_to_PEM_cert(der) if der else None


def _verify(ex: Exchange) -> str | None:
    """ngx_ssl_get_client_verify: NONE, SUCCESS or FAILED:reason."""
    connection = ex.client.ssl_object
    if connection is None:
        return None
    if connection.getpeercert(binary_form=True) is None:
        return "NONE"
    from hapair import openssl  # noqa: PLC0415 (TLS only: as tls.server_context, which imported it)

    result = openssl.verify_result(connection)
    return "SUCCESS" if result == openssl.X509_V_OK else "FAILED:" + openssl.verify_error_text(result)


def _fingerprint(ex: Exchange) -> str | None:
    import hashlib  # noqa: PLC0415 (OpenSSL's digests: 0.65 MB of each worker, for this variable alone)

    der = _der(ex)
    return hashlib.sha1(der).hexdigest() if der else None  # nginx fingerprints with SHA-1


def _tabbed(ex: Exchange) -> str | None:
    """`$ssl_client_cert`: the PEM with a tab after each line feed but the last (deprecated in nginx)."""
    pem = _pem(ex)
    return None if pem is None else pem[:-1].replace("\n", "\n\t")


def _escaped(ex: Exchange) -> str | None:
    pem = _pem(ex)
    return None if pem is None else escape_uri_component(pem.encode()).decode("ascii")


def _days_left(certificate: openssl.CertificateText) -> str:
    seconds = certificate.seconds_left()
    return "0" if seconds < _DAY else str(int(seconds // _DAY))


VARIABLES: dict[str, Callable[[Exchange], str | None]] = {
    "ssl_client_verify": _verify,
    "ssl_client_s_dn": _field(lambda c: c.subject()),
    "ssl_client_i_dn": _field(lambda c: c.issuer()),
    "ssl_client_s_dn_legacy": _field(lambda c: c.subject(legacy=True)),
    "ssl_client_i_dn_legacy": _field(lambda c: c.issuer(legacy=True)),
    "ssl_client_serial": _field(lambda c: c.serial()),
    "ssl_client_v_start": _field(lambda c: c.not_before()),
    "ssl_client_v_end": _field(lambda c: c.not_after()),
    "ssl_client_v_remain": _field(_days_left),
    "ssl_client_fingerprint": _fingerprint,
    "ssl_client_raw_cert": _pem,
    "ssl_client_cert": _tabbed,
    "ssl_client_escaped_cert": _escaped,
}
