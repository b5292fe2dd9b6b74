"""The L4 data plane: nginx's `stream { server { listen ...; proxy_pass ...; } }` as TCP relays.

`serve_stream(config)` starts every stream server of a `StreamConfig` on the running (uvloop) loop and
returns a `StreamService`; each accepted connection is a `StreamSession` (session.py) that connects to a
peer picked by the upstream's `Balancer` and relays bytes both ways with splice(2) through pipes
(relay.py), then writes its access log lines (logline.py, accesslog.py).
"""

from .service import StreamService, bind_listeners, serve_stream

__all__ = ["StreamService", "bind_listeners", "serve_stream"]
