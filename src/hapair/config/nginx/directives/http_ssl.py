"""The ssl module's server side: `ssl`, `ssl_certificate`, `ssl_certificate_key`, `ssl_password_file`,
`ssl_protocols`, `ssl_ciphers`, `ssl_prefer_server_ciphers`, `ssl_dhparam`, `ssl_ecdh_curve`,
`ssl_buffer_size`, `ssl_session_cache`, `ssl_session_timeout`, `ssl_session_tickets`, `ssl_early_data`
(off), `ssl_conf_command`, `ssl_reject_handshake`, and client certificates: `ssl_verify_client`,
`ssl_verify_depth`, `ssl_client_certificate`, `ssl_trusted_certificate`, `ssl_crl`
(ngx_http_ssl_module.c)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..errors import os_error_text
from ..fields import (
    DEFAULT_BUILTIN_SCACHE,
    NO_BUILTIN_SCACHE,
    NO_SCACHE,
    NONE_SCACHE,
    SSL_BUFFER_SIZE,
    SSL_CERTIFICATE,
    SSL_CERTIFICATE_KEY,
    SSL_CIPHERS,
    SSL_CLIENT_CERTIFICATE,
    SSL_CONF_COMMANDS,
    SSL_CRL,
    SSL_DHPARAM,
    SSL_EARLY_DATA,
    SSL_ECDH_CURVE,
    SSL_ENABLE,
    SSL_PASSWORDS,
    SSL_PREFER_SERVER_CIPHERS,
    SSL_PROTOCOLS,
    SSL_REJECT_HANDSHAKE,
    SSL_SESSION_CACHE,
    SSL_SESSION_TICKETS,
    SSL_SESSION_TIMEOUT,
    SSL_STAPLING,
    SSL_STAPLING_FILE,
    SSL_STAPLING_RESPONDER,
    SSL_STAPLING_VERIFY,
    SSL_TRUSTED_CERTIFICATE,
    SSL_VERIFY_CLIENT,
    SSL_VERIFY_DEPTH,
    SessionCacheSetting,
)
from ..numbers import atoi, parse_size
from ..settings import Slot
from ..state import MainState
from ..variables import has_variables
from ..zones import MIN_ZONE_SIZE, shared_memory_add
from . import setters
from .http_proxy import TLS_PROTOCOL_NAMES

VERIFY_CLIENT_VALUES = ("off", "on", "optional", "optional_no_ca")
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


def ssl_enable(block: Block, directive: Directive, reading: Reading) -> None:
    """`ssl on|off`, deprecated in nginx 1.22 for `listen ... ssl`: on, the server's addresses (where it
    is the default server) speak TLS."""
    setters.flag(SSL_ENABLE)(block, directive, reading)
    reading.warn(
        'the "ssl" directive is deprecated, use the "listen ... ssl" directive instead', directive.place
    )


def ssl_password_file(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_ssl_read_password_file: the file is read now; each non-empty line (without its CR) is tried
    in turn on encrypted keys."""
    level = block.level()
    if level.here(SSL_PASSWORDS) is not None:
        raise directive.invalid("is duplicate")
    path = block.main.paths.from_conf_prefix(directive.args[0])
    try:
        with open(path, "rb") as passwords:
            data = passwords.read()
    except OSError as exc:
        raise directive.error(f'open() "{path}" failed {os_error_text(exc)}') from exc
    lines = (line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n"))
    level.set(SSL_PASSWORDS, tuple(line.decode("latin-1") for line in lines if line), directive.place)


def ssl_early_data(block: Block, directive: Directive, reading: Reading) -> None:
    """Off is nginx's default and hapair's only way: Python's TLS cannot accept 0-RTT data."""
    setters.flag(SSL_EARLY_DATA)(block, directive, reading)
    if directive.args[0].lower() == "on":
        raise directive.unsupported('"on"')


def ssl_conf_command(block: Block, directive: Directive, reading: Reading) -> None:
    """Each `ssl_conf_command NAME VALUE` adds one (ngx_conf_set_keyval_slot)."""
    level = block.level()
    here = level.here(SSL_CONF_COMMANDS)
    commands = here.value if here is not None else ()
    name, value = directive.args
    place = here.place if here is not None else directive.place
    level.set(SSL_CONF_COMMANDS, (*commands, (name, value)), place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_ssl_module", "ssl_certificate"): file_list(SSL_CERTIFICATE),
    ("ngx_http_ssl_module", "ssl_certificate_key"): file_list(SSL_CERTIFICATE_KEY),
    ("ngx_http_ssl_module", "ssl_protocols"): setters.bitmask(SSL_PROTOCOLS, TLS_PROTOCOL_NAMES),
    ("ngx_http_ssl_module", "ssl_ciphers"): setters.string(SSL_CIPHERS),
    ("ngx_http_ssl_module", "ssl_prefer_server_ciphers"): setters.flag(SSL_PREFER_SERVER_CIPHERS),
    ("ngx_http_ssl_module", "ssl_session_cache"): ssl_session_cache,
    ("ngx_http_ssl_module", "ssl_session_timeout"): setters.sec(SSL_SESSION_TIMEOUT),
    ("ngx_http_ssl_module", "ssl_session_tickets"): setters.flag(SSL_SESSION_TICKETS),
    ("ngx_http_ssl_module", "ssl_dhparam"): setters.string(SSL_DHPARAM),
    ("ngx_http_ssl_module", "ssl_ecdh_curve"): setters.string(SSL_ECDH_CURVE),
    ("ngx_http_ssl_module", "ssl_buffer_size"): setters.size(SSL_BUFFER_SIZE),
    ("ngx_http_ssl_module", "ssl_conf_command"): ssl_conf_command,
    ("ngx_http_ssl_module", "ssl_password_file"): ssl_password_file,
    ("ngx_http_ssl_module", "ssl_reject_handshake"): setters.flag(SSL_REJECT_HANDSHAKE),
    ("ngx_http_ssl_module", "ssl_verify_client"): setters.choice(SSL_VERIFY_CLIENT, VERIFY_CLIENT_VALUES),
    ("ngx_http_ssl_module", "ssl_verify_depth"): setters.number(SSL_VERIFY_DEPTH),
    ("ngx_http_ssl_module", "ssl_client_certificate"): setters.string(SSL_CLIENT_CERTIFICATE),
    ("ngx_http_ssl_module", "ssl_trusted_certificate"): setters.string(SSL_TRUSTED_CERTIFICATE),
    ("ngx_http_ssl_module", "ssl_crl"): setters.string(SSL_CRL),
    ("ngx_http_ssl_module", "ssl_stapling"): setters.flag(SSL_STAPLING),
    ("ngx_http_ssl_module", "ssl_stapling_file"): setters.string(SSL_STAPLING_FILE),
    ("ngx_http_ssl_module", "ssl_stapling_responder"): setters.string(SSL_STAPLING_RESPONDER),
    ("ngx_http_ssl_module", "ssl_stapling_verify"): setters.flag(SSL_STAPLING_VERIFY),
    ("ngx_http_ssl_module", "ssl"): ssl_enable,
    ("ngx_http_ssl_module", "ssl_early_data"): ssl_early_data,
}
