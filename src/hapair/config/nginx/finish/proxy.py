"""The proxy module's merge of what it does with responses (the part of ngx_http_proxy_merge_loc_conf and
ngx_http_upstream_hide_headers_hash about them): the buffer sizes checked as nginx checks them, the
`proxy_redirect` rules (a level without its own takes its parent's, and a location with `proxy_pass`
and none gets `proxy_redirect default`), the headers hidden."""

from __future__ import annotations

from ..errors import ConfigError
from ..fields import (
    PROXY_BUFFER_SIZE,
    PROXY_BUFFERS,
    PROXY_BUSY_BUFFERS_SIZE,
    PROXY_COOKIE_DOMAIN,
    PROXY_COOKIE_FLAGS,
    PROXY_COOKIE_PATH,
    PROXY_HIDE_HEADER,
    PROXY_IGNORE_HEADERS,
    PROXY_INTERCEPT_ERRORS,
    PROXY_MAX_TEMP_FILE_SIZE,
    PROXY_PASS_HEADER,
    PROXY_REDIRECT,
    PROXY_TEMP_FILE_WRITE_SIZE,
    PROXY_TEMP_PATH,
)
from ..model.http import LocationMatch
from ..model.place import Place
from ..model.proxy import (
    DEFAULT_HIDDEN,
    DEFAULT_MAX_TEMP_FILE_SIZE,
    DEFAULT_TEMP_PATH,
    PAGE_SIZE,
    ProxyResponse,
    Redirect,
)
from ..model.templates import Literal, Template
from ..settings import Level
from ..state import LocationState, ProxyPassState

_NAMELESS = (LocationMatch.REGEX, LocationMatch.REGEX_CASELESS, LocationMatch.NAMED, LocationMatch.IF)
_LARGEST = 'the maximum of the value of "proxy_buffer_size" and one of the "proxy_buffers"'


class ResponseMerge:
    """Levels are merged in nginx's order (a server, then its locations depth first), so that a level's
    parent is merged before it."""

    def __init__(self, end: Place) -> None:
        self._end = end  # where nginx reports what it finds while merging: the end of the http block
        self._redirects: dict[int, tuple[Redirect, ...] | None] = {}

    def response(self, level: Level, location: LocationState | None) -> ProxyResponse:
        buffer_size = level.value(PROXY_BUFFER_SIZE, PAGE_SIZE)
        number, size = level.value(PROXY_BUFFERS, (8, PAGE_SIZE))
        if number < 2:
            raise self._error('there must be at least 2 "proxy_buffers"')
        largest = max(buffer_size, size)
        busy = level.value(PROXY_BUSY_BUFFERS_SIZE, 2 * largest)
        if busy < largest:
            raise self._error(f'"proxy_busy_buffers_size" must be equal to or greater than {_LARGEST}')
        if busy > (number - 1) * size:
            raise self._error(
                '"proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus one buffer'
            )
        write_size = level.value(PROXY_TEMP_FILE_WRITE_SIZE, 2 * largest)
        if write_size < largest:
            raise self._error(f'"proxy_temp_file_write_size" must be equal to or greater than {_LARGEST}')
        max_file = level.value(PROXY_MAX_TEMP_FILE_SIZE, DEFAULT_MAX_TEMP_FILE_SIZE)
        if max_file and max_file < largest:
            raise self._error(
                '"proxy_max_temp_file_size" must be equal to zero to disable temporary files usage '
                f"or must be equal to or greater than {_LARGEST}"
            )
        return ProxyResponse(
            redirects=self._merge_redirects(level, location),
            cookie_domains=level.value(PROXY_COOKIE_DOMAIN, None) or (),
            cookie_paths=level.value(PROXY_COOKIE_PATH, None) or (),
            cookie_flags=level.value(PROXY_COOKIE_FLAGS, None) or (),
            hidden=_hidden(level),
            ignored=frozenset(name.lower() for name in level.value(PROXY_IGNORE_HEADERS, frozenset())),
            intercept_errors=level.value(PROXY_INTERCEPT_ERRORS, False),
            buffer_size=buffer_size,
            buffers=(number, size),
            busy_buffers_size=busy,
            temp_file_write_size=write_size,
            max_temp_file_size=max_file,
            temp_path=level.value(PROXY_TEMP_PATH, DEFAULT_TEMP_PATH),
        )

    def _error(self, text: str) -> ConfigError:
        return ConfigError(text, self._end)

    def _merge_redirects(self, level: Level, location: LocationState | None) -> tuple[Redirect, ...] | None:
        nearest = level.find(PROXY_REDIRECT)
        merged: tuple[Redirect, ...] | None = None
        if nearest is None or not nearest.value.off:
            own = level.here(PROXY_REDIRECT)
            merged = own.value.rules if own is not None else self._parent_redirects(level)
            if merged is None and location is not None and location.proxy_pass is not None:
                merged = (default_redirect(location.proxy_pass.value, location.name, location.match),)
        self._redirects[id(level)] = merged
        return merged

    def _parent_redirects(self, level: Level) -> tuple[Redirect, ...] | None:
        parent = level.parent
        if parent is None:
            return None
        if id(parent) in self._redirects:
            return self._redirects[id(parent)]
        own = parent.here(PROXY_REDIRECT)  # the http level, which nginx does not merge
        return own.value.rules if own is not None and not own.value.off else None


def _hidden(level: Level) -> frozenset[str]:
    """nginx's hidden headers and `proxy_hide_header`'s, less `proxy_pass_header`'s."""
    hidden = DEFAULT_HIDDEN | {name.lower() for name in level.value(PROXY_HIDE_HEADER, ())}
    return hidden - {name.lower() for name in level.value(PROXY_PASS_HEADER, ())}


def default_redirect(target: ProxyPassState, location_name: str, match: LocationMatch) -> Redirect:
    """`proxy_redirect default`: the `proxy_pass` URL replaced by the location's name when it has a URI,
    else the URL with `/` replaced by `/`."""
    if target.uri:
        name = "" if match in _NAMELESS else location_name
        return Redirect(_literal(target.url), None, _literal(name))
    return Redirect(_literal(target.url + "/"), None, _literal("/"))


def _literal(text: str) -> Template:
    return Template(text, (Literal(text),) if text else ())
