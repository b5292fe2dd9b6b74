"""TLS in a stream session, with Python's `ssl` on the sockets themselves (non-blocking SSLSockets): the
client's handshake of a `listen ... ssl` (nginx's ssl phase, within `ssl_handshake_timeout`; a failed one
ends the session with 500), the client certificate checks of `ssl_verify_client` (nginx's `info` lines,
500), the handshake with an upstream of `proxy_ssl on` (a failed one fails the peer, as a refused
connection does), and the `$ssl_*` variables.

Bytes after the handshakes are relayed by copies through Python (relay.CopyDirection): the kernel cannot
splice what OpenSSL must decrypt, and Python's `ssl` does not give the socket to kernel TLS.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from hapair import openssl
from hapair.config.nginx.model.tls import ClientCertificates, ClientVerify, ServerTls, UpstreamTls
from hapair.proxy.http import client_certificates
from hapair.proxy.http.tls import server_context, upstream_context

if TYPE_CHECKING:
    from .variables import Getter, SessionView

# the name each client asked for in its handshake ($ssl_server_name)
_SERVER_NAMES: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()


def stream_server_context(tls: ServerTls) -> ssl.SSLContext:
    """A server's context: http's, without ALPN, noting the name each client asks for."""
    context = server_context(tls, alpn=())

    def note_name(sock: object, name: str | None, _: ssl.SSLContext) -> None:
        if name:
            _SERVER_NAMES[sock] = name

    context.sni_callback = note_name  # type: ignore[assignment]
    return context


class UpstreamSessions:
    """`proxy_ssl` towards a server's upstreams: one context, and the last session of each peer offered
    again on its next connection (`proxy_ssl_session_reuse`)."""

    def __init__(self, tls: UpstreamTls, name: str | None) -> None:
        self.context = upstream_context(tls, alpn=())
        self._tls = tls
        self._name = name
        self._sessions: dict[str, ssl.SSLSession] = {}

    def wrap(self, sock: socket.socket, peer: str, upstream_name: str) -> ssl.SSLSocket:
        """The upstream socket for its handshake: SNI with the name when `proxy_ssl_server_name` (or
        verifying it), the peer's last session offered."""
        name = self._name if self._name is not None else upstream_name
        sends_name = self._tls.server_name or self._tls.verify
        session = self._sessions.get(peer) if self._tls.session_reuse else None
        return self.context.wrap_socket(
            sock,
            server_side=False,
            do_handshake_on_connect=False,
            server_hostname=name.partition(":")[0] if sends_name else None,
            session=session,
        )

    def remember(self, peer: str, sock: ssl.SSLSocket) -> None:
        if self._tls.session_reuse and sock.session is not None:
            self._sessions[peer] = sock.session


class Handshake:
    """A non-blocking SSLSocket's handshake on the loop, within `timeout` seconds: `done(None)` once it
    has succeeded, `done(error)` once it failed or timed out."""

    __slots__ = ("_done", "_fd", "_loop", "_reading", "_sock", "_timer", "_writing")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: ssl.SSLSocket,
        timeout: float,
        done: Callable[[Exception | None], None],
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._done = done
        self._reading = self._writing = False
        self._timer = loop.call_later(timeout, self._timed_out)

    def start(self) -> None:
        self._step()

    def cancel(self) -> None:
        self._unwatch()
        self._timer.cancel()

    def _step(self) -> None:
        try:
            self._sock.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(read=True)
            return
        except ssl.SSLWantWriteError:
            self._watch(read=False)
            return
        except (ssl.SSLError, OSError) as error:
            self.cancel()
            self._done(error)
            return
        self.cancel()
        self._done(None)

    def _watch(self, *, read: bool) -> None:
        if read and not self._reading:
            self._loop.add_reader(self._fd, self._step)
            self._reading = True
        if not read and not self._writing:
            self._loop.add_writer(self._fd, self._step)
            self._writing = True
        if read and self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        if not read and self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False

    def _unwatch(self) -> None:
        if self._reading:
            self._loop.remove_reader(self._fd)
            self._reading = False
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False

    def _timed_out(self) -> None:
        self._unwatch()
        self._done(TimeoutError("SSL handshake timed out"))


def client_refusal(sock: ssl.SSLSocket, clients: ClientCertificates) -> str | None:
    """ngx_stream_ssl_handler's checks of the client's certificate: nginx's `info` line when it refuses
    the session, None when the session goes on."""
    if clients.verify is ClientVerify.OFF:
        return None
    result = openssl.verify_result(sock)  # type: ignore[arg-type]
    if result != openssl.X509_V_OK and not (
        clients.verify is ClientVerify.OPTIONAL_NO_CA and result in openssl.UNKNOWN_ISSUER_ERRORS
    ):
        return f"client SSL certificate verify error: ({result}:{openssl.verify_error_text(result)})"
    if clients.verify is ClientVerify.ON and sock.getpeercert(binary_form=True) is None:
        return "client sent no required SSL certificate"
    return None


class _Connection:
    """What http's certificate variables read of a connection (`ex.client.ssl_object`)."""

    __slots__ = ("ssl_object",)

    def __init__(self, sock: ssl.SSLSocket) -> None:
        self.ssl_object = sock

    @property
    def client(self) -> _Connection:
        return self


def _certificate_variable(name: str) -> Callable[[ssl.SSLSocket], str | None]:
    read = client_certificates.VARIABLES[name]
    return lambda sock: read(_Connection(sock))  # type: ignore[arg-type]


_READERS: dict[str, Callable[[ssl.SSLSocket], str | None]] = {
    "ssl_protocol": lambda sock: sock.version(),
    "ssl_cipher": lambda sock: cipher[0] if (cipher := sock.cipher()) else None,
    "ssl_session_reused": lambda sock: "r" if sock.session_reused else ".",
    "ssl_server_name": _SERVER_NAMES.get,
    **{
        name: _certificate_variable(name)
        for name in client_certificates.VARIABLES
        if not name.endswith("_legacy")  # http's only
    },
}


def tls_values(sock: ssl.SSLSocket) -> dict[str, str | None]:
    """The ssl module's variables of a connection, read once its handshake is done (OpenSSL may not
    answer once the connection is shut down)."""
    return {name: read(sock) for name, read in _READERS.items()}


def _value(name: str) -> Getter:
    def value(session: SessionView) -> str | None:
        values = session.tls
        return None if values is None else values[name]

    return value


def tls_variables() -> dict[str, Getter]:
    """The ssl module's variables: not found without a TLS connection."""
    return {name: _value(name) for name in _READERS}
