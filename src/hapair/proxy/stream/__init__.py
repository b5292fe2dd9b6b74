"""The L4 data plane: nginx's `stream { server { listen ...; proxy_pass ...; } }` as TCP relays.

`serve_stream(config)` starts every stream server of a `StreamConfig` on the running (uvloop) loop and
returns a `StreamService`; each accepted connection is a `StreamSession` (session.py) that goes through
the server's phases (`set`, `allow`/`deny` in access.py, `ssl_preread` with the ClientHello reader of
clienthello.py), finds its upstream (the server's group, or its `proxy_pass` value: target.py), connects
to a peer picked by the group's `Balancer` and relays bytes both ways (relay.py: small messages copied
through one buffer, bulk with splice(2) through pipes), then writes its access log lines (accesslog.py).
variables.py is the variables' one system, for the phases and the log lines alike.

Two C extensions take the system calls out of the interpreter where they can (the Python above stays
what decides, and runs alone without them: a wheel, HAPAIR_PURE_PYTHON=1): a worker's plain TCP sessions
are relayed by a thread of its own (native.py, _native_relay.c), and `listen ... udp` sessions
(datagram.py) have their sockets, answers and timeouts handled on the loop's thread (native_datagram.py,
_native_datagram.c); both keep their `proxy_timeout` deadlines in _deadlines.h's heap.
"""

from .service import StreamService, bind_listeners, serve_stream

__all__ = ["StreamService", "bind_listeners", "serve_stream"]
