"""The value each directive sets in a level (nginx's configuration structure fields), shared by the
directive handlers that write them and the code that builds the model from them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .model.http import ErrorPage
from .model.logging import AccessLog, ErrorLog
from .model.place import Place
from .model.proxy import CookieFlags, Redirect
from .model.resolver import Resolver
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


@dataclass(frozen=True, slots=True)
class RedirectSetting:
    """The `proxy_redirect` directives of one level: `off`, or its rules (`default` made into one)."""

    off: bool
    rules: tuple[Redirect, ...]


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
SERVER_NAMES_HASH_MAX_SIZE = Slot[int]("server_names_hash_max_size")
SERVER_NAMES_HASH_BUCKET_SIZE = Slot[int]("server_names_hash_bucket_size")
VARIABLES_HASH_MAX_SIZE = Slot[int]("variables_hash_max_size")
VARIABLES_HASH_BUCKET_SIZE = Slot[int]("variables_hash_bucket_size")
TYPES_HASH_BUCKET_SIZE = Slot[int]("types_hash_bucket_size")
DEFAULT_TYPE = Slot[str]("default_type")
ERROR_PAGES = Slot[tuple[ErrorPage, ...]]("error_page")
RECURSIVE_ERROR_PAGES = Slot[bool]("recursive_error_pages")
INTERNAL = Slot[bool]("internal")
ABSOLUTE_REDIRECT = Slot[bool]("absolute_redirect")
PORT_IN_REDIRECT = Slot[bool]("port_in_redirect")
SERVER_NAME_IN_REDIRECT = Slot[bool]("server_name_in_redirect")
MSIE_PADDING = Slot[bool]("msie_padding")
CHUNKED_TRANSFER_ENCODING = Slot[bool]("chunked_transfer_encoding")
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
RESET_TIMEDOUT_CONNECTION = Slot[bool]("reset_timedout_connection")
STUB_STATUS = Slot[bool]("stub_status")  # the level's content handler is the status page (not inherited)
# the temporary directories of the FastCGI, uwsgi and SCGI modules: nginx makes them at start, whether
# or not a location passes requests to such a server (hapair refuses `fastcgi_pass` and its kin)
FASTCGI_TEMP_PATH = Slot[str]("fastcgi_temp_path")
UWSGI_TEMP_PATH = Slot[str]("uwsgi_temp_path")
SCGI_TEMP_PATH = Slot[str]("scgi_temp_path")
RESOLVER = Slot[Resolver]("resolver")
RESOLVER_TIMEOUT = Slot[int]("resolver_timeout")

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
PROXY_REDIRECT = Slot[RedirectSetting]("proxy_redirect")
PROXY_METHOD = Slot[Template]("proxy_method")
PROXY_PASS_REQUEST_HEADERS = Slot[bool]("proxy_pass_request_headers")
PROXY_PASS_REQUEST_BODY = Slot[bool]("proxy_pass_request_body")
PROXY_COOKIE_DOMAIN = Slot[tuple[Redirect, ...] | None]("proxy_cookie_domain")  # None: off
PROXY_COOKIE_PATH = Slot[tuple[Redirect, ...] | None]("proxy_cookie_path")
PROXY_COOKIE_FLAGS = Slot[tuple[CookieFlags, ...] | None]("proxy_cookie_flags")
PROXY_HIDE_HEADER = Slot[tuple[str, ...]]("proxy_hide_header")
PROXY_PASS_HEADER = Slot[tuple[str, ...]]("proxy_pass_header")
PROXY_IGNORE_HEADERS = Slot[frozenset[str]]("proxy_ignore_headers")
PROXY_INTERCEPT_ERRORS = Slot[bool]("proxy_intercept_errors")
PROXY_BUFFER_SIZE = Slot[int]("proxy_buffer_size")
PROXY_BUFFERS = Slot[tuple[int, int]]("proxy_buffers")
PROXY_BUSY_BUFFERS_SIZE = Slot[int]("proxy_busy_buffers_size")
PROXY_TEMP_FILE_WRITE_SIZE = Slot[int]("proxy_temp_file_write_size")
PROXY_MAX_TEMP_FILE_SIZE = Slot[int]("proxy_max_temp_file_size")
PROXY_TEMP_PATH = Slot[str]("proxy_temp_path")
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

GZIP = Slot[bool]("gzip")
GZIP_BUFFERS = Slot[tuple[int, int]]("gzip_buffers")  # (number, size)
GZIP_TYPES = Slot[tuple[str, ...] | None]("gzip_types")  # None: `*`, any type
GZIP_COMP_LEVEL = Slot[int]("gzip_comp_level")
GZIP_WINDOW = Slot[int]("gzip_window")  # zlib's window bits
GZIP_HASH = Slot[int]("gzip_hash")  # zlib's memory level
POSTPONE_GZIPPING = Slot[int]("postpone_gzipping")
GZIP_NO_BUFFER = Slot[bool]("gzip_no_buffer")
GZIP_MIN_LENGTH = Slot[int]("gzip_min_length")
GZIP_VARY = Slot[bool]("gzip_vary")
GZIP_HTTP_VERSION = Slot[str]("gzip_http_version")
GZIP_PROXIED = Slot[frozenset[str]]("gzip_proxied")
GZIP_DISABLE = Slot[tuple[re.Pattern[str], ...]]("gzip_disable")
GZIP_DISABLE_MSIE6 = Slot[bool]("gzip_disable")  # its `msie6` parameter

SSL_CERTIFICATE = Slot[tuple[str, ...]]("ssl_certificate")
SSL_CERTIFICATE_KEY = Slot[tuple[str, ...]]("ssl_certificate_key")
SSL_PROTOCOLS = Slot[frozenset[str]]("ssl_protocols")
SSL_CIPHERS = Slot[str]("ssl_ciphers")
SSL_PREFER_SERVER_CIPHERS = Slot[bool]("ssl_prefer_server_ciphers")
SSL_SESSION_CACHE = Slot[SessionCacheSetting]("ssl_session_cache")
SSL_SESSION_TIMEOUT = Slot[int]("ssl_session_timeout")
SSL_SESSION_TICKETS = Slot[bool]("ssl_session_tickets")
SSL_DHPARAM = Slot[str]("ssl_dhparam")
SSL_ECDH_CURVE = Slot[str]("ssl_ecdh_curve")
SSL_BUFFER_SIZE = Slot[int]("ssl_buffer_size")
SSL_CONF_COMMANDS = Slot[tuple[tuple[str, str], ...]]("ssl_conf_command")
SSL_PASSWORDS = Slot[tuple[str, ...]]("ssl_password_file")
SSL_REJECT_HANDSHAKE = Slot[bool]("ssl_reject_handshake")
SSL_ENABLE = Slot[bool]("ssl")
SSL_EARLY_DATA = Slot[bool]("ssl_early_data")
SSL_VERIFY_CLIENT = Slot[str]("ssl_verify_client")
SSL_VERIFY_DEPTH = Slot[int]("ssl_verify_depth")
SSL_CLIENT_CERTIFICATE = Slot[str]("ssl_client_certificate")
SSL_TRUSTED_CERTIFICATE = Slot[str]("ssl_trusted_certificate")
SSL_STAPLING = Slot[bool]("ssl_stapling")
SSL_STAPLING_FILE = Slot[str]("ssl_stapling_file")
SSL_STAPLING_RESPONDER = Slot[str]("ssl_stapling_responder")
SSL_STAPLING_VERIFY = Slot[bool]("ssl_stapling_verify")  # for fetched responses, which hapair refuses
SSL_CRL = Slot[str]("ssl_crl")

KEEPALIVE_TIMEOUT = Slot[int]("keepalive_timeout")
KEEPALIVE_REQUESTS = Slot[int]("keepalive_requests")
KEEPALIVE_TIME = Slot[int]("keepalive_time")

STREAM_PROXY_CONNECT_TIMEOUT = Slot[int]("proxy_connect_timeout")
STREAM_PROXY_TIMEOUT = Slot[int]("proxy_timeout")
