"""TLS in stream: the ssl module's server side (`listen ... ssl`, `ssl_certificate`, `ssl_certificate_key`,
`ssl_password_file`, `ssl_protocols`, `ssl_ciphers`, `ssl_prefer_server_ciphers`, `ssl_dhparam`,
`ssl_ecdh_curve`, `ssl_session_cache`, `ssl_session_timeout`, `ssl_session_tickets`, `ssl_conf_command`,
`ssl_handshake_timeout`, `ssl_verify_client`, `ssl_verify_depth`, `ssl_client_certificate`,
`ssl_trusted_certificate`, `ssl_crl`; ngx_stream_ssl_module.c) and the proxy's towards upstreams
(`proxy_ssl`, `proxy_ssl_certificate`, `proxy_ssl_certificate_key`, `proxy_ssl_protocols`,
`proxy_ssl_ciphers`, `proxy_ssl_name`, `proxy_ssl_server_name`, `proxy_ssl_verify`,
`proxy_ssl_verify_depth`, `proxy_ssl_trusted_certificate`, `proxy_ssl_session_reuse`). The handlers are
http's: the directives read alike and fill the same settings, merged per stream server."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields import (
    PROXY_SSL_CERTIFICATE,
    PROXY_SSL_CERTIFICATE_KEY,
    PROXY_SSL_CIPHERS,
    PROXY_SSL_PROTOCOLS,
    PROXY_SSL_SERVER_NAME,
    PROXY_SSL_SESSION_REUSE,
    PROXY_SSL_TRUSTED_CERTIFICATE,
    PROXY_SSL_VERIFY,
    PROXY_SSL_VERIFY_DEPTH,
)
from ..stream_fields import PROXY_SSL, PROXY_SSL_NAME_TEXT, SSL_HANDSHAKE_TIMEOUT
from ..variables import has_variables
from . import http_ssl, setters
from .http_proxy import TLS_PROTOCOL_NAMES, certificate_path

_SERVER_SIDE = (
    "ssl_certificate",
    "ssl_certificate_key",
    "ssl_password_file",
    "ssl_protocols",
    "ssl_ciphers",
    "ssl_prefer_server_ciphers",
    "ssl_dhparam",
    "ssl_ecdh_curve",
    "ssl_session_cache",
    "ssl_session_timeout",
    "ssl_session_tickets",
    "ssl_conf_command",
    "ssl_verify_client",
    "ssl_verify_depth",
    "ssl_client_certificate",
    "ssl_trusted_certificate",
    "ssl_crl",
)


def proxy_ssl_name(block: Block, directive: Directive, reading: Reading) -> None:
    """The name sent and checked: text only (nginx's takes variables)."""
    level = block.level()
    if level.here(PROXY_SSL_NAME_TEXT) is not None:
        raise directive.invalid("is duplicate")
    if has_variables(directive.args[0]):
        raise directive.unsupported("variables")
    level.set(PROXY_SSL_NAME_TEXT, directive.args[0], directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    **{
        ("ngx_stream_ssl_module", name): http_ssl.HANDLERS[("ngx_http_ssl_module", name)]
        for name in _SERVER_SIDE
    },
    ("ngx_stream_ssl_module", "ssl_handshake_timeout"): setters.msec(SSL_HANDSHAKE_TIMEOUT),
    ("ngx_stream_proxy_module", "proxy_ssl"): setters.flag(PROXY_SSL),
    ("ngx_stream_proxy_module", "proxy_ssl_certificate"): certificate_path(PROXY_SSL_CERTIFICATE),
    ("ngx_stream_proxy_module", "proxy_ssl_certificate_key"): certificate_path(PROXY_SSL_CERTIFICATE_KEY),
    ("ngx_stream_proxy_module", "proxy_ssl_protocols"): setters.bitmask(
        PROXY_SSL_PROTOCOLS, TLS_PROTOCOL_NAMES
    ),
    ("ngx_stream_proxy_module", "proxy_ssl_ciphers"): setters.string(PROXY_SSL_CIPHERS),
    ("ngx_stream_proxy_module", "proxy_ssl_name"): proxy_ssl_name,
    ("ngx_stream_proxy_module", "proxy_ssl_server_name"): setters.flag(PROXY_SSL_SERVER_NAME),
    ("ngx_stream_proxy_module", "proxy_ssl_verify"): setters.flag(PROXY_SSL_VERIFY),
    ("ngx_stream_proxy_module", "proxy_ssl_verify_depth"): setters.number(PROXY_SSL_VERIFY_DEPTH),
    ("ngx_stream_proxy_module", "proxy_ssl_trusted_certificate"): setters.string(
        PROXY_SSL_TRUSTED_CERTIFICATE
    ),
    ("ngx_stream_proxy_module", "proxy_ssl_session_reuse"): setters.flag(PROXY_SSL_SESSION_REUSE),
}
