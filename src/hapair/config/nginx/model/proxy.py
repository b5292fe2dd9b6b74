"""The proxy module's handling of upstream responses at one level: `proxy_redirect`, the headers hidden
and passed, `proxy_ignore_headers`, `proxy_intercept_errors`, and the buffers a response is read into
(`proxy_buffering` and the sizes around it), with nginx's defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .templates import Template

# the upstream headers nginx's proxy does not pass on unless `proxy_pass_header` names them
DEFAULT_HIDDEN = frozenset(
    {
        "date",
        "server",
        "x-pad",
        "x-accel-expires",
        "x-accel-redirect",
        "x-accel-limit-rate",
        "x-accel-buffering",
        "x-accel-charset",
    }
)
PAGE_SIZE = 4096
DEFAULT_TEMP_PATH = "/var/lib/nginx/proxy"  # Debian's --http-proxy-temp-path
DEFAULT_MAX_TEMP_FILE_SIZE = 1024 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Redirect:
    """A `proxy_redirect` rule: a prefix (`prefix`, with variables) or a regular expression (`regex`) of
    a Location or Refresh URL, and what replaces the prefix (or, for a regular expression, the URL)."""

    prefix: Template | None
    regex: re.Pattern[str] | None
    replacement: Template


@dataclass(frozen=True, slots=True)
class CookieFlags:
    """A `proxy_cookie_flags` rule: the cookies it is for (a name with variables, or a regular
    expression), and the flags (`secure`, `nohttponly`, `samesite=lax`..., with variables)."""

    cookie: Template | None
    regex: re.Pattern[str] | None
    flags: tuple[Template, ...]


@dataclass(frozen=True, slots=True)
class ProxyResponse:
    redirects: tuple[Redirect, ...] | None  # None: Location and Refresh are passed as they come
    cookie_domains: tuple[Redirect, ...]  # `proxy_cookie_domain`: the whole domain, in any case
    cookie_paths: tuple[Redirect, ...]  # `proxy_cookie_path`: a prefix of the path
    cookie_flags: tuple[CookieFlags, ...]
    hidden: frozenset[str]  # lower-case names of the upstream headers not passed to the client
    ignored: frozenset[str]  # `proxy_ignore_headers`, in lower case
    intercept_errors: bool  # an upstream status >= 300 with an `error_page` gets that page
    buffer_size: int  # the most an upstream response head may take; an unbuffered read's size
    buffers: tuple[int, int]  # number and size of the memory buffers of a buffered response
    busy_buffers_size: int
    temp_file_write_size: int
    max_temp_file_size: int  # 0: a buffered response is never written to a file
    temp_path: str
