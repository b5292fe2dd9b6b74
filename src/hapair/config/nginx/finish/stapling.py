"""`ssl_stapling` (ngx_event_openssl_stapling.c), decided per certificate of a TLS server as nginx decides
it while merging: with `ssl_stapling_file`, the OCSP response in that file is stapled (read with OpenSSL,
nginx's message when it is missing or not an OCSP response); without one, nginx looks for the issuer
certificate (in the certificate file's chain, then among `ssl_trusted_certificate` and the
`ssl_client_certificate` a verifying server loads) and for a responder (`ssl_stapling_responder`, else the
certificate's OCSP URL), and ignores stapling with a warning when either is missing. Where nginx would
then fetch responses from the responder at run time, hapair, which does not fetch them, refuses by name.
`ssl_stapling_verify` only concerns fetched responses (nginx does not verify a file's)."""

from __future__ import annotations

from collections.abc import Callable

from hapair import openssl

from ..errors import ConfigError
from ..fields import SSL_STAPLING, SSL_STAPLING_FILE, SSL_STAPLING_RESPONDER
from ..model.tls import ServerTls
from ..paths import Paths
from ..settings import Level

Warn = Callable[[str], None]


def ocsp_staple(level: Level, tls: ServerTls | None, paths: Paths, warn: Warn) -> bytes | None:
    """The OCSP response a server staples (DER), or None."""
    stapling = level.find(SSL_STAPLING)
    if tls is None or not tls.certificates or stapling is None or not stapling.value:
        return None
    file = level.value(SSL_STAPLING_FILE, "")
    if file:
        path = paths.from_conf_prefix(file)
        try:
            return openssl.read_ocsp_response(path)
        except openssl.OpenSslError as error:
            raise ConfigError(str(error), None, stapling.place) from error
    responder = level.value(SSL_STAPLING_RESPONDER, "")
    for certificate in reversed(tls.certificates):  # nginx keeps them newest first
        if _would_fetch(certificate.certificate, tls, responder, warn):
            raise ConfigError(
                'hapair does not support fetching OCSP responses for the "ssl_stapling" directive '
                '(give the response with "ssl_stapling_file")',
                None,
                stapling.place,
            )
    return None


def _would_fetch(path: str, tls: ServerTls, responder: str, warn: Warn) -> bool:
    """Whether nginx would fetch responses for the certificate in `path`: its issuer is known and a
    responder with an http:// URL is (else nginx's warning, and no stapling for it)."""
    from .certificates import certificates, issued, ocsp_url  # noqa: PLC0415  (cryptography: 12 MB)

    chain = certificates(path)
    leaf = chain[0]
    candidates = chain[1:] + [known for bundle in _store(tls) for known in certificates(bundle)]
    if not any(issued(leaf, candidate) for candidate in candidates):
        warn(f'"ssl_stapling" ignored, issuer certificate not found for certificate "{path}"')
        return False
    url = responder or ocsp_url(leaf)
    if not url:
        warn(f'"ssl_stapling" ignored, no OCSP responder URL in the certificate "{path}"')
        return False
    if len(url) <= 7 or url[:7].lower() != "http://":
        where = f'OCSP responder "{url}" in the certificate "{path}"'
        warn(f'"ssl_stapling" ignored, invalid URL prefix in {where}')
        return False
    return True


def _store(tls: ServerTls) -> list[str]:
    clients = tls.clients
    return [path for path in (clients.client_certificate, clients.trusted_certificate) if path is not None]
