"""ssl.SSLContexts from the model's TLS settings: the listeners' (`ssl_*`) and the upstreams' (`proxy_ssl_*`).

What Python's `ssl` cannot do as nginx does, and what hapair does instead:

- `ssl_protocols` / `proxy_ssl_protocols` set the lowest and highest version of the set: a set with a hole
  (TLSv1 and TLSv1.2 without TLSv1.1) also allows the missing one. SSLv2/SSLv3 are never offered.
- `ssl_session_cache`: OpenSSL's built-in cache of each worker process is used (Python cannot size it or
  share it between processes: `shared:NAME:SIZE` is not shared); `off` also turns session tickets off.
- What Python's `ssl` does not expose (groups, DH parameters, the record size, the session timeout,
  `ssl_conf_command`) is set through `hapair.openssl`.
- `ssl_reject_handshake`: the handshake fails as nginx's does, but asyncio's TLS closes the connection
  without sending nginx's `unrecognized_name` alert first.
- `ssl_verify_client`: a request is judged by the client certificate checks of the server its Host
  chose when that server has a certificate of its own; nginx also judges one whose server has none (its
  connection then used another server's settings). A request refused for its certificate does not take
  the TLS session out of the cache (nginx does, so that the client's next handshake is a full one).
- `proxy_ssl_verify_depth` is not enforced (OpenSSL's default depth, 100, applies).
- With `proxy_ssl_verify on`, the name checked is also sent as SNI, even with `proxy_ssl_server_name off`.
- `proxy_ssl_session_reuse`: the last session of each upstream peer is offered on its next connection.
"""

from __future__ import annotations

import ssl
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from hapair.config.nginx.model.tls import (
    ClientCertificates,
    ClientVerify,
    ServerTls,
    SessionCacheMode,
    UpstreamTls,
)

_VERSIONS = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
_ORDER = list(_VERSIONS)


def _set_protocols(context: ssl.SSLContext, protocols: frozenset[str]) -> None:
    known = sorted((name for name in protocols if name in _VERSIONS), key=_ORDER.index)
    if not known:
        raise ssl.SSLError(f"no TLS version hapair supports in {sorted(protocols)}")
    context.minimum_version = _VERSIONS[known[0]]
    context.maximum_version = _VERSIONS[known[-1]]


def server_context(tls: ServerTls, *, alpn: tuple[str, ...] = ("http/1.1",)) -> ssl.SSLContext:
    """The context a listener's server presents (`ssl_certificate`... of one server block); `alpn`: the
    protocols it offers (stream offers none). hapair.openssl (with ctypes, 0.3 MB of each worker) is
    imported by the configurations with TLS listeners: by the master before it forks their workers
    (proxy/preload.py)."""
    from hapair import openssl  # noqa: PLC0415

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _set_protocols(context, tls.protocols)
    context.set_ciphers(tls.ciphers)
    if tls.prefer_server_ciphers:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    if tls.session_cache.mode is SessionCacheMode.OFF or not tls.session_tickets:
        context.options |= ssl.OP_NO_TICKET
    for pair in tls.certificates:
        openssl.load_certificate(context, pair.certificate, pair.key, tls.passwords)
    openssl.set_session_timeout(context, tls.session_timeout)
    if tls.dhparam is not None:
        openssl.load_dh_params(context, tls.dhparam)
    openssl.set_groups(context, tls.ecdh_curve)
    if tls.buffer_size != openssl.MAX_RECORD:
        openssl.set_max_send_fragment(context, tls.buffer_size)
    _check_clients(context, tls.clients)
    if tls.conf_commands:
        openssl.conf_commands(context, tls.conf_commands)
    if tls.ocsp_response is not None:
        openssl.staple_ocsp_response(context, tls.ocsp_response)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


def _check_clients(context: ssl.SSLContext, clients: ClientCertificates) -> None:
    """ngx_ssl_client_certificate, ngx_ssl_trusted_certificate, ngx_ssl_crl: the certificates asked for,
    the CAs they are checked against (and named to clients), the revocation lists."""
    from hapair import openssl  # noqa: PLC0415 (see server_context)

    if clients.verify is not ClientVerify.OFF:
        openssl.ask_client_certificates(context, clients.depth)
        if clients.client_certificate is not None:
            context.load_verify_locations(clients.client_certificate)
            openssl.name_client_authorities(context, clients.client_certificate)
    if clients.trusted_certificate is not None:
        context.load_verify_locations(clients.trusted_certificate)
    if clients.crl is not None:
        context.load_verify_locations(clients.crl)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN


@dataclass(frozen=True, slots=True)
class ChosenServer:
    """The server a handshake's name chooses: its context (None: it has none of its own), and whether
    it refuses handshakes (`ssl_reject_handshake on`)."""

    context: ssl.SSLContext | None
    rejected: bool = False


SniChooser = Callable[[str | None], ChosenServer]
# the name each TLS connection asked for ($ssl_server_name)
SERVER_NAMES: weakref.WeakKeyDictionary[ssl.SSLObject, str] = weakref.WeakKeyDictionary()


def with_sni(context: ssl.SSLContext, choose: SniChooser) -> ssl.SSLContext:
    """`context`, switching to the context `choose` gives for the name a client asks for (the server
    block of that name, when it has its own certificate); a handshake that chooses a server rejecting
    handshakes (no name: the default server) fails, as nginx's with its `unrecognized_name` alert."""

    def switch(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> int | None:
        if name:
            SERVER_NAMES[sock] = name
        chosen = choose(name.lower().rstrip(".") if name else None)
        if chosen.rejected:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        if chosen.context is not None and chosen.context is not context:
            sock.context = chosen.context
        return None

    context.sni_callback = switch  # type: ignore[assignment]
    return context


class UpstreamContext(ssl.SSLContext):
    """A client context towards one upstream peer that offers that peer's last session again
    (`proxy_ssl_session_reuse`): the event loop wraps every connection through `wrap_bio`."""

    session: ssl.SSLSession | None
    reuse: bool

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        offered = session if session is not None else (self.session if self.reuse else None)
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, offered)

    def remember(self, sslobj: ssl.SSLObject | None) -> None:
        """Keep the session of a connection that worked."""
        if self.reuse and sslobj is not None and sslobj.session is not None:
            self.session = sslobj.session


def upstream_context(tls: UpstreamTls, *, alpn: tuple[str, ...] = ("http/1.1",)) -> UpstreamContext:
    """One per upstream peer and TLS setting (sessions are per peer, as nginx keeps them); `alpn`: the
    protocols asked for (stream asks for none)."""
    context = UpstreamContext(ssl.PROTOCOL_TLS_CLIENT)
    context.session = None
    context.reuse = tls.session_reuse
    _set_protocols(context, tls.protocols)
    context.set_ciphers(tls.ciphers)
    if tls.verify:
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        if tls.trusted_certificate is not None:
            context.load_verify_locations(tls.trusted_certificate)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if tls.certificate is not None:
        context.load_cert_chain(tls.certificate.certificate, tls.certificate.key)
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context
