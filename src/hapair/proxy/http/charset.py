"""nginx's charset filter (ngx_http_charset_filter_module.c), without recoding: `charset` adds
`; charset=NAME` to the type of a response whose type is in `charset_types` and that names no charset
(or names one and `override_charset` is on), when the source charset is the same or not set. A response
that would need recoding from one charset to another is sent as it is, and logged as nginx logs it when
it has no `charset_map` (`no "charset_map" between the charsets ...`): hapair has none.

nginx leaves the charset out of 301 and 302 responses. The charset named by an upstream's `Content-Type`
counts as the response's own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.headers import CharsetFilter, CharsetName
from hapair.config.nginx.model.logging import ErrorLevel

from .files import log_response_error
from .variables import resolver

if TYPE_CHECKING:
    from .exchange import BodyFilter, Exchange
    from .response import ResponseHead

_CHARSET = b"charset="


class _NoValueError(Exception):
    """A variable naming a charset has no value: nginx fails the response."""


class Charset:
    """The charset filter of one location."""

    __slots__ = ("_settings",)

    def __init__(self, settings: CharsetFilter) -> None:
        self._settings = settings

    def __call__(self, ex: Exchange, head: ResponseHead) -> BodyFilter | None:
        settings = self._settings
        if not head.content_type or settings.charset is None:
            return None
        type_length, own = _split(head)
        if own is not None:
            if not settings.override:
                return None
        elif (
            settings.types is not None
            and head.content_type[:type_length].lower().decode("latin-1") not in settings.types
        ):
            return None
        try:
            self._apply(ex, head, type_length, own)
        except _NoValueError:
            # nginx's NGX_ERROR: the connection is closed without an answer, the status logged
            ex.status = head.status
            ex.abort_response()
        return None

    def _apply(self, ex: Exchange, head: ResponseHead, type_length: int, own: bytes | None) -> None:
        settings = self._settings
        assert settings.charset is not None
        destination = _value(ex, settings.charset)
        if own is not None:
            source: bytes | None = own
        elif settings.source is None:
            _set_charset(head, destination, visible=True)
            return
        else:
            source = _value(ex, settings.source)
        known = settings.known
        destination_known = destination.decode("latin-1").lower() in known
        source_known = source.decode("latin-1").lower() in known
        same = destination.lower() == source.lower()
        if not destination_known or not source_known:
            if destination_known != source_known or not source.lower().startswith(destination.lower()):
                _no_map(ex, head, source, destination)
                return
            _set_charset(head, destination, visible=type_length == len(head.content_type or b""))
            return
        if same:
            head.content_type = (head.content_type or b"")[:type_length]
            _set_charset(head, destination, visible=True)
            return
        if head.find(b"content-encoding"):
            return
        _no_map(ex, head, source, destination)


def _split(head: ResponseHead) -> tuple[int, bytes | None]:
    """The length of the type without its charset, and the charset the response names: nginx's own
    (`ResponseHead.charset`), or the one in an upstream's `Content-Type` (ngx_http_upstream's reading)."""
    content_type = head.content_type or b""
    if head.status_text is None:
        return len(content_type), head.charset
    position = 0
    while True:
        semicolon = content_type.find(b";", position)
        if semicolon < 0:
            return len(content_type), None
        value = semicolon + 1
        while value < len(content_type) and content_type[value] == 0x20:
            value += 1
        if value == len(content_type):
            return len(content_type), None
        if content_type[value : value + 8].lower() == _CHARSET:
            charset = content_type[value + 8 :]
            if charset.startswith(b'"'):
                charset = charset[1:]
            if charset.endswith(b'"'):
                charset = charset[:-1]
            return semicolon, charset
        position = value


def _value(ex: Exchange, name: CharsetName) -> bytes:
    if name.variable is None:
        return name.name.encode("utf-8", "surrogateescape")
    value = resolver(name.variable)(ex)
    if value is None:
        raise _NoValueError
    return value.encode("latin-1")


def _set_charset(head: ResponseHead, charset: bytes, *, visible: bool) -> None:
    """ngx_http_set_charset: never on a 301 or 302; `visible` when the type does not already carry one."""
    if head.status in (301, 302):
        head.charset = None
    elif visible:
        head.charset = charset


def _no_map(ex: Exchange, head: ResponseHead, source: bytes, destination: bytes) -> None:
    text = (
        f'no "charset_map" between the charsets "{source.decode("latin-1")}" and '
        f'"{destination.decode("latin-1")}"'
    )
    log_response_error(ex, head, ErrorLevel.ERROR, text)
