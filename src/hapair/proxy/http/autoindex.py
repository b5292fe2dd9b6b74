"""nginx's autoindex module (ngx_http_autoindex_module.c): the listing of a directory asked for with a
trailing slash, when no index file answered: HTML (names cut at 50 characters, sizes exact or scaled,
times in UTC or local), XML, JSON or JSONP (`?callback=name`). Hidden entries (a leading dot) are left
out; directories come first, then the names in byte order. The listing has no length: HTTP/1.1 gets it
chunked."""

from __future__ import annotations

import errno
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hapair.config.nginx.errors import os_error_text
from hapair.config.nginx.model.files import AutoindexFormat
from hapair.config.nginx.model.logging import ErrorLevel

from .clock import http_date
from .escapes import escape_html, escape_json, escape_uri_component, utf8_length, utf8_prefix
from .exchange import DONE, NEXT
from .logcontext import log_request_error
from .response import ResponseHead
from .variables import resolver

if TYPE_CHECKING:
    from .exchange import Exchange

NAME_LENGTH = 50  # NGX_HTTP_AUTOINDEX_NAME_LEN
_METHODS = frozenset({b"GET", b"HEAD"})
_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
_TYPES = {
    AutoindexFormat.HTML: b"text/html",
    AutoindexFormat.XML: b"text/xml",
    AutoindexFormat.JSON: b"application/json",
    AutoindexFormat.JSONP: b"application/javascript",
}
_CALLBACK = resolver("arg_callback")
_CALLBACK_CHARACTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


@dataclass(frozen=True, slots=True)
class Entry:
    name: bytes
    is_dir: bool
    is_file: bool
    mtime: int
    size: int


class _ListingError(Exception):
    pass


def autoindex(ex: Exchange) -> int:
    """ngx_http_autoindex_handler."""
    if not ex.uri.endswith("/") or ex.method not in _METHODS:
        return NEXT
    files = ex.route.files
    mapped = files.map_uri(ex)
    if isinstance(mapped, int):
        return mapped
    path = mapped[0][:-1] if len(mapped[0]) > 1 else mapped[0]
    form = files.settings.autoindex.format
    callback = b""
    if form is AutoindexFormat.JSONP:
        found = _callback(ex)
        if found is None:
            return 400
        callback = found
        if not callback:
            form = AutoindexFormat.JSON
    try:
        directory = os.scandir(path.encode("latin-1"))
    except OSError as exc:
        return _open_failed(ex, exc, path)
    with directory:
        head = ResponseHead(200)
        head.content_type = _TYPES[form]
        if form is AutoindexFormat.XML:
            head.charset = b"utf-8"
        if not ex.send_head(head):
            return DONE
        if ex.header_only:
            ex.send_end()
            return DONE
        try:
            entries = _entries(ex, directory, path)
        except _ListingError:
            ex.abort_response()
            return DONE
    ex.send_body(_listing(ex, form, entries, head, callback))
    ex.send_end()
    return DONE


def _callback(ex: Exchange) -> bytes | None:
    """The `callback` argument, or None when nginx refuses it (400)."""
    value = _CALLBACK(ex)
    if value is None:
        return b""
    callback = value.encode("latin-1")
    if len(callback) > 128:
        log_request_error(ex, ErrorLevel.INFO, f'client sent too long callback name: "{value}"')
        return None
    if not all(byte in _CALLBACK_CHARACTERS for byte in callback):
        log_request_error(ex, ErrorLevel.INFO, f'client sent invalid callback name: "{value}"')
        return None
    return callback


def _open_failed(ex: Exchange, exc: OSError, path: str) -> int:
    code = exc.errno or 0
    status, level = 500, ErrorLevel.CRIT
    if code in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
        status, level = 404, ErrorLevel.ERROR
    elif code == errno.EACCES:
        status, level = 403, ErrorLevel.ERROR
    log_request_error(ex, level, f'opendir() "{path}" failed ({code}: {os.strerror(code)})')
    return status


def _entries(ex: Exchange, directory: os.ScandirIterator[bytes], path: str) -> list[Entry]:
    """The visible entries, sorted; a link's time and size are its target's (its own when broken)."""
    entries = []
    for item in directory:
        name = item.name
        if name.startswith(b"."):
            continue
        info = _stat(ex, item.path, path, name)
        if info is None:
            continue
        entries.append(
            Entry(
                name,
                item.is_dir(follow_symlinks=False),
                item.is_file(follow_symlinks=False),
                info.st_mtime_ns // 1_000_000_000,
                info.st_size,
            )
        )
    entries.sort(key=lambda entry: (not entry.is_dir, entry.name))
    return entries


def _stat(ex: Exchange, full: bytes, path: str, name: bytes) -> os.stat_result | None:
    """stat(), lstat() for a broken link; None for an entry left out (not readable)."""
    filename = f"{path}/{name.decode('latin-1')}"
    try:
        return os.stat(full)
    except OSError as exc:
        if exc.errno not in (errno.ENOENT, errno.ELOOP):
            log_request_error(ex, ErrorLevel.CRIT, f'stat() "{filename}" failed {os_error_text(exc)}')
            if exc.errno == errno.EACCES:
                return None
            raise _ListingError from exc
    try:
        return os.lstat(full)
    except OSError as exc:
        log_request_error(ex, ErrorLevel.CRIT, f'lstat() "{filename}" failed {os_error_text(exc)}')
        raise _ListingError from exc


def _listing(
    ex: Exchange, form: AutoindexFormat, entries: list[Entry], head: ResponseHead, callback: bytes
) -> bytes:
    if form is AutoindexFormat.HTML:
        return _html(ex, entries, utf8=(head.charset or b"").lower() == b"utf-8")
    if form is AutoindexFormat.XML:
        return _xml(entries)
    return _json(entries, callback)


def _html(ex: Exchange, entries: list[Entry], *, utf8: bool) -> bytes:
    settings = ex.route.files.settings.autoindex
    uri = escape_html(ex.uri.encode("latin-1"))
    out = [
        b"<html>\r\n<head><title>Index of ",
        uri,
        b"</title></head>\r\n<body>\r\n<h1>Index of ",
        uri,
        b'</h1><hr><pre><a href="../">../</a>\r\n',
    ]
    offset = time.localtime().tm_gmtoff if settings.localtime else 0
    for entry in entries:
        out.append(_html_name(entry, utf8=utf8))
        out.append(_html_date(entry.mtime + offset))
        out.append(_html_size(entry, exact=settings.exact_size))
        out.append(b"\r\n")
    out.append(b"</pre><hr></body>\r\n</html>\r\n")
    return b"".join(out)


def _html_name(entry: Entry, *, utf8: bool) -> bytes:
    """The link and its text, cut to 50 characters (`..>`) or padded, then a space."""
    name = entry.name
    link = b'<a href="' + escape_uri_component(name) + (b"/" if entry.is_dir else b"") + b'">'
    length = utf8_length(name) if utf8 else len(name)
    if length != len(name):
        shown = utf8_prefix(name, NAME_LENGTH - 3 if length > NAME_LENGTH else NAME_LENGTH)
        shown = escape_html(shown)
    elif escape_html(name) != name:
        shown = escape_html(name[: NAME_LENGTH - 3 if length > NAME_LENGTH else length])
    else:
        shown = name[:NAME_LENGTH]
        if length > NAME_LENGTH:
            shown = shown[:-3]
    if length > NAME_LENGTH:
        return link + shown + b"..&gt;</a> "
    if entry.is_dir and NAME_LENGTH - length > 0:
        shown += b"/"
        length += 1
    return link + shown + b"</a>" + b" " * max(0, NAME_LENGTH - length) + b" "


def _html_date(seconds: int) -> bytes:
    t = time.gmtime(seconds)
    return b"%02d-%b-%d %02d:%02d " % (t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min)


def _html_size(entry: Entry, *, exact: bool) -> bytes:
    if exact:
        return b"                  -" if entry.is_dir else b"%19d" % entry.size
    if entry.is_dir:
        return b"      -"
    size = entry.size
    for scale, unit in ((b"G", 1024**3), (b"M", 1024**2)):
        if size > unit - 1:
            return b"%6d%b" % (size // unit + (size % unit > unit // 2 - 1), scale)
    if size > 9999:
        return b"%6dK" % (size // 1024 + (size % 1024 > 511))
    return b" %6d" % size


def _kind(entry: Entry) -> bytes:
    return b"directory" if entry.is_dir else b"file" if entry.is_file else b"other"


def _json(entries: list[Entry], callback: bytes) -> bytes:
    items = []
    for entry in entries:
        item = b'\r\n{ "name":"' + escape_json(entry.name) + b'", "type":"' + _kind(entry)
        item += b'", "mtime":"' + http_date(entry.mtime).encode()
        item += b'", "size":%d' % entry.size if entry.is_file else b'"'
        items.append(item + b" }")
    body = b"[" + b",".join(items) + b"\r\n]"
    return b"/* callback */\r\n" + callback + b"(" + body + b");" if callback else body


def _xml(entries: list[Entry]) -> bytes:
    out = [b'<?xml version="1.0"?>\r\n<list>\r\n']
    for entry in entries:
        kind = _kind(entry)
        t = time.gmtime(entry.mtime)
        stamp = b"%4d-%02d-%02dT%02d:%02d:%02dZ" % t[:6]
        size = b'" size="%d' % entry.size if entry.is_file else b""
        name = escape_html(entry.name)
        out.append(b'<%b mtime="%b%b">%b</%b>\r\n' % (kind, stamp, size, name, kind))
    out.append(b"</list>\r\n")
    return b"".join(out)
