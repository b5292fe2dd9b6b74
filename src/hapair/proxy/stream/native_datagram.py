"""The extension that does UDP sessions' socket work in C (_native_datagram.c), on the event loop's thread:
once the phases have run and the balancer has picked the peer, it makes the session's socket, connects it
and sends the query; when its epoll set is readable (the loop watches it as one descriptor) it reads the
answers, sends them to the client, and ends the sessions after `proxy_responses` answers, on
`proxy_timeout` or when sending to the client fails; Python hears of each session when it ends
(datagram.NativeDatagrams). docs/request-cost.md, "UDP: sessions' socket work in C".

As native.py's relay: made at the worker's first session that can use it, and used only when the extension
was built from the .c beside it (not with HAPAIR_PURE_PYTHON=1, nor from a wheel); without it, datagram.py's
sessions do the socket work themselves.
"""

from __future__ import annotations

from typing import Any

from hapair.compiled import native_extension

MODULE = "hapair.proxy.stream._native_datagram"


EXTENSION = native_extension(MODULE)


def make() -> Any:
    """The extension's sessions (a `Datagrams`); None when it is not there (or stale, or pure Python is
    asked) or cannot start: the sessions then do their socket work themselves."""
    if EXTENSION is None:
        return None
    try:
        return EXTENSION.Datagrams()
    except OSError:
        return None
