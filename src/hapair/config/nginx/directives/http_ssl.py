"""The ssl module's server side: `ssl_certificate`, `ssl_certificate_key`, `ssl_protocols`,
`ssl_ciphers`, `ssl_prefer_server_ciphers`, `ssl_session_cache`, `ssl_session_timeout`
(ngx_http_ssl_module.c)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields import (
    DEFAULT_BUILTIN_SCACHE,
    NO_BUILTIN_SCACHE,
    NO_SCACHE,
    NONE_SCACHE,
    SSL_CERTIFICATE,
    SSL_CERTIFICATE_KEY,
    SSL_CIPHERS,
    SSL_PREFER_SERVER_CIPHERS,
    SSL_PROTOCOLS,
    SSL_SESSION_CACHE,
    SSL_SESSION_TIMEOUT,
    SessionCacheSetting,
)
from ..numbers import atoi, parse_size
from ..settings import Slot
from ..state import MainState
from ..variables import has_variables
from ..zones import MIN_ZONE_SIZE, shared_memory_add
from . import setters
from .http_proxy import TLS_PROTOCOL_NAMES

_NAMED_VALUES = {"off": NO_SCACHE, "none": NONE_SCACHE, "builtin": DEFAULT_BUILTIN_SCACHE}


def file_list(slot: Slot[tuple[str, ...]]) -> Handler:
    """`ssl_certificate`, `ssl_certificate_key`: each adds a file (ngx_conf_set_str_array_slot)."""

    def handle(block: Block, directive: Directive, reading: Reading) -> None:
        if has_variables(directive.args[0]):
            raise directive.unsupported("variables")
        level = block.level()
        here = level.here(slot)
        files = here.value if here is not None else ()
        level.set(slot, (*files, directive.args[0]), here.place if here is not None else directive.place)

    return handle


def ssl_session_cache(block: Block, directive: Directive, reading: Reading) -> None:
    """`off`, `none`, `builtin[:size]`, `shared:name:size`; a repeated directive changes what it names."""
    level = block.level()
    here = level.here(SSL_SESSION_CACHE)
    builtin, shared = (here.value.builtin, here.value.shared) if here is not None else (None, None)
    for arg in directive.args:
        if arg in _NAMED_VALUES:
            builtin = _NAMED_VALUES[arg]
        elif arg.startswith("builtin:") and len(arg) > len("builtin:"):
            builtin = atoi(arg[len("builtin:") :])
            if builtin is None:
                raise directive.error(f'invalid session cache "{arg}"')
        elif arg.startswith("shared:") and len(arg) > len("shared:"):
            shared = _shared_zone(block.main, directive, arg)
        else:
            raise directive.error(f'invalid session cache "{arg}"')
    if shared is not None and builtin is None:
        builtin = NO_BUILTIN_SCACHE
    level.set(SSL_SESSION_CACHE, SessionCacheSetting(builtin, shared), directive.place)


def _shared_zone(main: MainState, directive: Directive, arg: str) -> tuple[str, int]:
    name, _, size_text = arg[len("shared:") :].partition(":")
    size = parse_size(size_text) if name else None
    if size is None:
        raise directive.error(f'invalid session cache "{arg}"')
    if size < MIN_ZONE_SIZE:
        raise directive.error(f'session cache "{arg}" is too small')
    shared_memory_add(main, name, size, "ngx_http_ssl_module", directive.place)
    return name, size


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_ssl_module", "ssl_certificate"): file_list(SSL_CERTIFICATE),
    ("ngx_http_ssl_module", "ssl_certificate_key"): file_list(SSL_CERTIFICATE_KEY),
    ("ngx_http_ssl_module", "ssl_protocols"): setters.bitmask(SSL_PROTOCOLS, TLS_PROTOCOL_NAMES),
    ("ngx_http_ssl_module", "ssl_ciphers"): setters.string(SSL_CIPHERS),
    ("ngx_http_ssl_module", "ssl_prefer_server_ciphers"): setters.flag(SSL_PREFER_SERVER_CIPHERS),
    ("ngx_http_ssl_module", "ssl_session_cache"): ssl_session_cache,
    ("ngx_http_ssl_module", "ssl_session_timeout"): setters.sec(SSL_SESSION_TIMEOUT),
}
