"""TLS: the certificates and settings a server presents (`ssl_*`) and the ones used towards upstream
servers (`proxy_ssl_*`)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .templates import Template


@dataclass(frozen=True, slots=True)
class Certificate:
    certificate: str  # absolute paths
    key: str


class SessionCacheMode(Enum):
    OFF = "off"  # sessions may not be reused
    NONE = "none"  # clients are told sessions may be reused, but none are stored
    ON = "on"  # sessions are stored in the built-in and/or the shared cache


@dataclass(frozen=True, slots=True)
class SessionCache:
    mode: SessionCacheMode
    builtin: int | None  # sessions kept per worker; None: no built-in cache
    shared_name: str | None
    shared_size: int  # bytes


class ClientVerify(Enum):
    """`ssl_verify_client`: whether a client certificate is asked for, and what a request needs."""

    OFF = "off"  # none is asked for
    ON = "on"  # a request without a valid certificate gets 400
    OPTIONAL = "optional"  # asked for; a request with one that is not valid gets 400
    OPTIONAL_NO_CA = "optional_no_ca"  # asked for; one whose issuer is unknown is let through


@dataclass(frozen=True, slots=True)
class ClientCertificates:
    """How a server checks its clients' certificates."""

    verify: ClientVerify
    depth: int  # the longest chain accepted (`ssl_verify_depth`, 1 by default)
    client_certificate: str | None  # absolute path of the CAs trusted and named to clients
    trusted_certificate: str | None  # absolute path of CAs trusted without being named
    crl: str | None  # absolute path of the revocation lists checked


@dataclass(frozen=True, slots=True)
class ServerTls:
    certificates: tuple[Certificate, ...]  # none: a server that only rejects handshakes
    protocols: frozenset[str]  # "TLSv1.2", "TLSv1.3"...
    ciphers: str  # an OpenSSL cipher list
    prefer_server_ciphers: bool
    session_cache: SessionCache
    session_timeout: int  # seconds
    session_tickets: bool
    passwords: tuple[str, ...]  # tried in turn on encrypted keys
    dhparam: str | None  # absolute path of DH parameters
    ecdh_curve: str  # OpenSSL's groups list, or "auto"
    buffer_size: int  # the largest TLS record sent, bytes
    conf_commands: tuple[tuple[str, str], ...]
    reject_handshake: bool  # a handshake that chooses this server is refused
    clients: ClientCertificates
    ocsp_response: bytes | None = None  # DER, stapled for clients that ask (`ssl_stapling_file`)


@dataclass(frozen=True, slots=True)
class UpstreamTls:
    certificate: Certificate | None  # the client certificate presented to upstream servers
    protocols: frozenset[str]
    ciphers: str
    verify: bool
    trusted_certificate: str | None  # absolute path of the CA bundle used with `verify`
    verify_depth: int
    session_reuse: bool
    server_name: bool  # send SNI
    name: Template  # the name sent and verified; `$proxy_host` by default
