"""What a configuration's workers will import on first use, imported by the master before it forks them.

A worker runs as `user` (nobody by default) from the moment it starts, and such a user may be unable to
read the interpreter's own files then (an interpreter installed under /root, as pyenv does): what the
worker has not imported by then, it cannot import at all. What the master imported is also shared by every
worker rather than held by each. The modules a configuration may not need are left out unless it does
(issue 15's 25 MB per worker): HTTP/2 without an `http2` listener, dnspython without a `resolver`, the
L4 data plane (hapair.proxy.stream) without a `stream {}` block."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterable, Mapping

from hapair.config.nginx.model.config import NginxConfig
from hapair.config.nginx.model.resolver import Resolver

from .http import h2
from .resolver import DNS_MODULES

STREAM = "hapair.proxy.stream"
# ssl's `server_hostname` (SNI, `proxy_ssl_server_name`) encodes names with the idna codec on first use
ALWAYS = ("encodings.idna",)


def preload(config: NginxConfig) -> None:
    for module in ALWAYS:
        importlib.import_module(module)
    h2.preload(config)
    if config.stream is not None:
        importlib.import_module(STREAM)
    if has_resolver(config):
        for module in DNS_MODULES:
            importlib.import_module(module)


def has_resolver(config: NginxConfig) -> bool:
    """Whether a `resolver` is in force anywhere in the configuration's model (a `proxy_pass` with
    variables may use it)."""
    seen: set[int] = set()
    pending: list[object] = [config]
    while pending:
        value = pending.pop()
        if isinstance(value, Resolver):
            return True
        if id(value) in seen:
            continue
        seen.add(id(value))
        pending.extend(_parts(value))
    return False


def _parts(value: object) -> Iterable[object]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (getattr(value, field.name) for field in dataclasses.fields(value))
    if isinstance(value, Mapping):
        return value.values()
    if isinstance(value, tuple | list | set | frozenset):
        return value
    return ()
