"""The value each directive sets in a level (nginx's configuration structure fields), shared by the
directive handlers that write them and the code that builds the model from them."""

from __future__ import annotations

from dataclasses import dataclass

from .model.http import ErrorPage
from .model.logging import AccessLog, ErrorLog
from .model.place import Place
from .model.templates import Template
from .settings import Slot


@dataclass(frozen=True, slots=True)
class AccessLogs:
    """The `access_log` directives of one level; `off` wins over paths in the same level."""

    off: bool
    logs: tuple[AccessLog, ...]


@dataclass(frozen=True, slots=True)
class HeaderSetting:
    """One `proxy_set_header`, compiled when the http block ends."""

    name: str
    value: str
    place: Place


@dataclass(frozen=True, slots=True)
class SessionCacheSetting:
    """`ssl_session_cache` as nginx keeps it: the built-in cache size or one of its special values, and
    the shared zone."""

    builtin: int | None  # None: not set in this level (NGX_CONF_UNSET)
    shared: tuple[str, int] | None


# nginx's special values of the built-in session cache size (NGX_SSL_*_SCACHE)
NO_SCACHE = -2  # off
NONE_SCACHE = -3  # none
NO_BUILTIN_SCACHE = -4  # only a shared cache was named
DEFAULT_BUILTIN_SCACHE = -5  # builtin, OpenSSL's default size

ERROR_LOGS = Slot[tuple[ErrorLog, ...]]("error_log")
ACCESS_LOGS = Slot[AccessLogs]("access_log")
CLIENT_MAX_BODY_SIZE = Slot[int]("client_max_body_size")
CLIENT_HEADER_TIMEOUT = Slot[int]("client_header_timeout")
CLIENT_BODY_TIMEOUT = Slot[int]("client_body_timeout")
SEND_TIMEOUT = Slot[int]("send_timeout")
KEEPALIVE_TIMEOUT = Slot[int]("keepalive_timeout")
KEEPALIVE_HEADER = Slot[int]("keepalive_timeout")  # its second parameter: seconds, for Keep-Alive
KEEPALIVE_REQUESTS = Slot[int]("keepalive_requests")
CLIENT_BODY_BUFFER_SIZE = Slot[int]("client_body_buffer_size")
TYPES = Slot[dict[str, str]]("types")
TYPES_HASH_MAX_SIZE = Slot[int]("types_hash_max_size")
TYPES_HASH_BUCKET_SIZE = Slot[int]("types_hash_bucket_size")
DEFAULT_TYPE = Slot[str]("default_type")
ERROR_PAGES = Slot[tuple[ErrorPage, ...]]("error_page")
RECURSIVE_ERROR_PAGES = Slot[bool]("recursive_error_pages")
INTERNAL = Slot[bool]("internal")
ABSOLUTE_REDIRECT = Slot[bool]("absolute_redirect")
PORT_IN_REDIRECT = Slot[bool]("port_in_redirect")
SERVER_NAME_IN_REDIRECT = Slot[bool]("server_name_in_redirect")
MSIE_PADDING = Slot[bool]("msie_padding")
SERVER_TOKENS = Slot[str]("server_tokens")
REWRITE_LOG = Slot[bool]("rewrite_log")
UNINITIALIZED_VARIABLE_WARN = Slot[bool]("uninitialized_variable_warn")
CLIENT_BODY_TEMP_PATH = Slot[str]("client_body_temp_path")
CLIENT_HEADER_BUFFER_SIZE = Slot[int]("client_header_buffer_size")
LARGE_CLIENT_HEADER_BUFFERS = Slot[tuple[int, int]]("large_client_header_buffers")  # (number, size)
UNDERSCORES_IN_HEADERS = Slot[bool]("underscores_in_headers")
IGNORE_INVALID_HEADERS = Slot[bool]("ignore_invalid_headers")
MAX_HEADERS = Slot[int]("max_headers")
LINGERING_CLOSE = Slot[str]("lingering_close")
LINGERING_TIME = Slot[int]("lingering_time")
LINGERING_TIMEOUT = Slot[int]("lingering_timeout")

PROXY_SET_HEADER = Slot[tuple[HeaderSetting, ...]]("proxy_set_header")
PROXY_CONNECT_TIMEOUT = Slot[int]("proxy_connect_timeout")
PROXY_READ_TIMEOUT = Slot[int]("proxy_read_timeout")
PROXY_SEND_TIMEOUT = Slot[int]("proxy_send_timeout")
PROXY_NEXT_UPSTREAM = Slot[frozenset[str]]("proxy_next_upstream")
PROXY_NEXT_UPSTREAM_TRIES = Slot[int]("proxy_next_upstream_tries")
PROXY_NEXT_UPSTREAM_TIMEOUT = Slot[int]("proxy_next_upstream_timeout")
PROXY_HTTP_VERSION = Slot[str]("proxy_http_version")
PROXY_REQUEST_BUFFERING = Slot[bool]("proxy_request_buffering")
PROXY_BUFFERING = Slot[bool]("proxy_buffering")
PROXY_SSL_CERTIFICATE = Slot[str]("proxy_ssl_certificate")
PROXY_SSL_CERTIFICATE_KEY = Slot[str]("proxy_ssl_certificate_key")
PROXY_SSL_PROTOCOLS = Slot[frozenset[str]]("proxy_ssl_protocols")
PROXY_SSL_CIPHERS = Slot[str]("proxy_ssl_ciphers")
PROXY_SSL_VERIFY = Slot[bool]("proxy_ssl_verify")
PROXY_SSL_TRUSTED_CERTIFICATE = Slot[str]("proxy_ssl_trusted_certificate")
PROXY_SSL_VERIFY_DEPTH = Slot[int]("proxy_ssl_verify_depth")
PROXY_SSL_SESSION_REUSE = Slot[bool]("proxy_ssl_session_reuse")
PROXY_SSL_SERVER_NAME = Slot[bool]("proxy_ssl_server_name")
PROXY_SSL_NAME = Slot[Template]("proxy_ssl_name")

SSL_CERTIFICATE = Slot[tuple[str, ...]]("ssl_certificate")
SSL_CERTIFICATE_KEY = Slot[tuple[str, ...]]("ssl_certificate_key")
SSL_PROTOCOLS = Slot[frozenset[str]]("ssl_protocols")
SSL_CIPHERS = Slot[str]("ssl_ciphers")
SSL_PREFER_SERVER_CIPHERS = Slot[bool]("ssl_prefer_server_ciphers")
SSL_SESSION_CACHE = Slot[SessionCacheSetting]("ssl_session_cache")
SSL_SESSION_TIMEOUT = Slot[int]("ssl_session_timeout")

KEEPALIVE_TIMEOUT = Slot[int]("keepalive_timeout")
KEEPALIVE_REQUESTS = Slot[int]("keepalive_requests")
KEEPALIVE_TIME = Slot[int]("keepalive_time")

STREAM_PROXY_CONNECT_TIMEOUT = Slot[int]("proxy_connect_timeout")
STREAM_PROXY_TIMEOUT = Slot[int]("proxy_timeout")
