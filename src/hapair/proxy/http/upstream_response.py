"""What a location does with its upstreams' responses (ngx_http_upstream_process_headers, with the proxy
module's rewrites, and the settings of its buffering): the response head made of an upstream's, with the
status line as the upstream wrote it, `Content-Type` and `Content-Length` apart, the hop-by-hop headers
and the hidden ones (`proxy_hide_header`, nginx's defaults less `proxy_pass_header`) left out,
`Location` and `Refresh` rewritten by `proxy_redirect`, `Set-Cookie` by `proxy_cookie_*`; whether the
response is buffered (`X-Accel-Buffering`); whether an error goes to the location's `error_page`
(`proxy_intercept_errors`).

A `Location` that `proxy_redirect` rewrote is nginx's own (made absolute when it starts with `/`, as the
header filter makes a redirect absolute); one no rule changed is passed as the upstream wrote it. An
upstream `Server` or `Date` that `proxy_pass_header` lets through replaces the proxy's.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from .parse import lower_name, parse_content_length
from .response import ResponseHead
from .upstream import Framing
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from hapair.config.nginx.model.proxy import ProxyResponse, Redirect

    from .cookies import CookieRules
    from .exchange import Exchange

# never passed: the upstream connection's own (ngx_http_upstream_ignore_header_line)
_HOP_BY_HOP: Final = frozenset({b"connection", b"keep-alive", b"transfer-encoding"})
_UPGRADE: Final = b"upgrade"
_CONTENT_TYPE: Final = b"content-type"
_CONTENT_LENGTH: Final = b"content-length"
_LOCATION: Final = b"location"
_REFRESH: Final = b"refresh"
_SET_COOKIE: Final = b"set-cookie"
_SERVER: Final = b"server"
_DATE: Final = b"date"
_X_ACCEL_BUFFERING: Final = b"x-accel-buffering"
_X_ACCEL_REDIRECT: Final = b"x-accel-redirect"
# what an X-Accel-Redirect response lends the one it leads to (ngx_http_upstream_headers_in's `redirect`)
_REDIRECT_KEPT: Final = frozenset(
    {b"set-cookie", b"content-disposition", b"cache-control", b"expires", b"accept-ranges"}
)
_PERCENT: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_REFRESH_URL: Final = re.compile(rb"url=", re.IGNORECASE)


class RedirectRule:
    """A `proxy_redirect` rule made ready: a prefix (with variables) or a regular expression."""

    __slots__ = ("_prefix", "_regex", "_replacement")

    def __init__(self, redirect: Redirect) -> None:
        self._prefix = CompiledTemplate(redirect.prefix) if redirect.prefix is not None else None
        self._regex = redirect.regex
        self._replacement = CompiledTemplate(redirect.replacement)

    def apply(self, ex: Exchange, value: str, start: int) -> str | None:
        """`value` with what follows `start` rewritten, or None when the rule does not match."""
        if self._prefix is not None:
            prefix = self._prefix.evaluate(ex)
            if not value.startswith(prefix, start):
                return None
            return value[:start] + self._replacement.evaluate(ex) + value[start + len(prefix) :]
        assert self._regex is not None
        match = self._regex.search(value[start:])
        if match is None:
            return None
        ex.match = match  # the captures of the replacement, as ngx_http_regex_exec sets them
        if match.re.groupindex:
            ex.capture_names(match)
        return value[:start] + self._replacement.evaluate(ex)


class UpstreamHead:
    """What `ResponseRules.head` makes of an upstream's head (a plain class: compiled, a NamedTuple is
    made by its interpreted `__new__`)."""

    __slots__ = ("buffering", "head", "redirect")

    def __init__(self, head: ResponseHead, buffering: bool, redirect: bytes | None) -> None:
        self.head = head
        self.buffering = buffering
        self.redirect = redirect  # X-Accel-Redirect's value


def cookie_rules(response: ProxyResponse) -> CookieRules | None:
    """A location's `proxy_cookie_*` made ready, None without any (cookies.py is imported only for a
    location rewriting cookies: proxy/preload.py imports it then)."""
    if not (response.cookie_domains or response.cookie_paths or response.cookie_flags):
        return None
    from .cookies import CookieRules  # noqa: PLC0415

    return CookieRules(response.cookie_domains, response.cookie_paths, response.cookie_flags)


class ResponseRules:
    """A location's settings about responses, made ready."""

    __slots__ = (
        "_buffering_header",
        "_cookies",
        "_hidden",
        "_redirect_header",
        "_redirects",
        "head_limit",
        "intercept_errors",
        "spool_file",
        "spool_memory",
        "take_size",
        "temp_path",
    )

    def __init__(self, response: ProxyResponse) -> None:
        self._hidden = frozenset(name.encode("latin-1") for name in response.hidden) | _HOP_BY_HOP
        redirects = response.redirects
        self._redirects = None if redirects is None else tuple(RedirectRule(rule) for rule in redirects)
        self._buffering_header = "x-accel-buffering" not in response.ignored
        self._cookies = cookie_rules(response)
        self._redirect_header = "x-accel-redirect" not in response.ignored
        self.intercept_errors = response.intercept_errors
        self.head_limit = response.buffer_size  # the most a response head may take
        number, size = response.buffers
        self.spool_memory = number * size  # what a buffered response holds in memory for a slow client
        self.spool_file = response.max_temp_file_size  # then in a file, in all
        self.temp_path = response.temp_path
        self.take_size = response.busy_buffers_size  # what is given to the client at a time from them

    def head(
        self,
        ex: Exchange,
        status: int,
        status_line: bytes,
        headers: list[tuple[bytes, bytes]],
        framing: Framing,
        *,
        buffering: bool,
    ) -> UpstreamHead:
        """The client's response head (`status_line`: the upstream's from the code on, "200 OK", as nginx
        passes it on); whether the response is buffered: `buffering` (the location's), unless the
        upstream says otherwise (ngx_http_upstream_process_buffering: `X-Accel-Buffering: no` or `yes`,
        in any case); where the upstream sends the request instead (`X-Accel-Redirect`). Either header
        is not looked at when `proxy_ignore_headers` names it."""
        head = ResponseHead(status, status_line)
        hidden = self._hidden
        upgrade = status == 101
        redirect = None
        for name, value in headers:
            lower = lower_name(name)
            if lower == _CONTENT_LENGTH:
                if framing is Framing.LENGTH:  # the length the body is read by: digits, found before
                    head.content_length = parse_content_length(value)
                elif framing is Framing.NONE and value.isdigit():
                    head.content_length = int(value)
                continue
            if lower == _X_ACCEL_BUFFERING and self._buffering_header:
                buffering = _accel_buffering(value, buffering)
            elif lower == _X_ACCEL_REDIRECT and redirect is None and self._redirect_header:
                redirect = value
            if lower in hidden or (lower == _UPGRADE and not upgrade):
                continue
            if lower == _CONTENT_TYPE:
                head.content_type = value
            elif lower == _LOCATION:
                self._location(ex, head, name, value)
            elif lower == _REFRESH and self._redirects is not None:
                head.headers.append((name, self._refresh(ex, value)))
            elif lower == _SET_COOKIE and self._cookies is not None:
                head.headers.append((name, self._cookies.rewrite(ex, value)))
            else:
                if lower == _SERVER:
                    head.upstream_server = True
                elif lower == _DATE:
                    head.upstream_date = True
                head.headers.append((name, value))
        return UpstreamHead(head, buffering, redirect)

    def _location(self, ex: Exchange, head: ResponseHead, name: bytes, value: bytes) -> None:
        """ngx_http_upstream_rewrite_location: a rewritten Location (or, without rules, one not starting
        with `/`) is the response's own."""
        index = len(head.headers)
        if self._redirects is None:
            head.headers.append((name, value))
            if not value.startswith(b"/"):
                head.location = index
            return
        rewritten = self._rewrite(ex, value, 0)
        head.headers.append((name, value if rewritten is None else rewritten))
        if rewritten is not None:
            head.location = index

    def _refresh(self, ex: Exchange, value: bytes) -> bytes:
        """ngx_http_upstream_rewrite_refresh: the URL after `url=` (in any case)."""
        found = _REFRESH_URL.search(value)
        if found is None:
            return value
        rewritten = self._rewrite(ex, value, found.end())
        return value if rewritten is None else rewritten

    def _rewrite(self, ex: Exchange, value: bytes, start: int) -> bytes | None:
        assert self._redirects is not None
        text = value.decode("latin-1")
        for rule in self._redirects:
            rewritten = rule.apply(ex, text, start)
            if rewritten is not None:
                return rewritten.encode("latin-1", "replace")
        return None


def _accel_buffering(value: bytes, buffering: bool) -> bool:
    answer = value.lower()
    if answer == b"no":
        return False
    if answer == b"yes":
        return True
    return buffering


def redirect_headers(headers: list[tuple[bytes, bytes]]) -> tuple[bytes | None, list[tuple[bytes, bytes]]]:
    """What an X-Accel-Redirect response lends the response it leads to, hidden or not: its Content-Type,
    and its other headers of that kind."""
    content_type = None
    kept = []
    for name, value in headers:
        lower = name.lower()
        if lower == _CONTENT_TYPE:
            content_type = value
        elif lower in _REDIRECT_KEPT:
            kept.append((name, value))
    return content_type, kept


def unsafe_uri(value: str) -> tuple[str, str | None] | None:
    """ngx_http_parse_unsafe_uri: the path (`%XX` decoded) and the arguments of an X-Accel-Redirect,
    or None for one nginx refuses (empty, starting with `?`, a NUL, a `..` segment)."""
    if not value or value.startswith("?"):
        return None
    path, mark, args = value.partition("?")
    if _unsafe_path(path):
        return None
    if "%" in path:
        path = _PERCENT.sub(lambda found: chr(int(found.group(1), 16)), path)
        if _unsafe_path(path):
            return None
    return path, args if mark else None


def _unsafe_path(path: str) -> bool:
    if "\0" in path or path == ".." or path.startswith("../"):
        return True
    return "/../" in path or path.endswith("/..")
