"""nginx 1.22's HTTP grammar (ngx_http_parse.c), without I/O: request lines, status lines, header lines,
`Content-Length` values and chunked bodies, each read with the rules nginx applies, so that what hapair
accepts, refuses and understands is what nginx does.

Lines are handed over without their line end: nginx ends a line at LF, with or without a CR before it
(a header line may have several). What nginx takes that stricter parsers do not: a bare LF, HTTP/0.9
request lines (`GET /x`), any method of capitals, `_` and `-`, `HTTP/1.x` for any minor version, any
absolute-form scheme, header names with any byte (dropped or not by the caller: `ignore_invalid_headers`),
header values with any byte but NUL, chunk lines ended by a bare LF, chunk extensions after a space.
"""

from __future__ import annotations

import re
from typing import Final

from .memo import keep

HTTP_09: Final = 9  # nginx's http_version: major * 1000 + minor
HTTP_10: Final = 1000
HTTP_11: Final = 1001
HTTP_20: Final = 2000
MAX_OFF_T: Final = 2**63 - 1  # NGX_MAX_OFF_T_VALUE


class RequestError(Exception):
    """The request gets nginx's answer `status` and its connection is closed after it."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


_METHOD: Final = rb"[A-Z_-]+"
# the target as ngx_http_parse_request_line walks it: a path, or scheme://host[:port] and a path or a
# query; the path and the query are any bytes but controls, space and DEL
_TARGET: Final = (
    rb"(?P<path>/[^\x00-\x20\x7f]*)"
    rb"|[A-Za-z][A-Za-z0-9+.-]*://"
    rb"(?P<host>\[[0-9A-Za-z:._~!$&'()*+,;=-]*\]|[A-Za-z0-9.-]*)(?::[0-9]*)?"
    rb"(?P<rest>[/?][^\x00-\x20\x7f]*)?"
)
_TARGET_UNNAMED: Final = re.sub(rb"\(\?P<\w+>", b"(?:", _TARGET)
_REQUEST_LINE: Final = re.compile(
    rb"(?P<method>" + _METHOD + rb") +(?:" + _TARGET + rb")"
    rb"(?P<after>(?: +(?P<protocol>HTTP/1\.(?P<minor>[0-9]{1,3})))? *)\r?"
)
# a line that is valid up to a major version nginx refuses: 505 rather than 400
_VERSION_REFUSED: Final = re.compile(_METHOD + rb" +(?:" + _TARGET_UNNAMED + rb") +HTTP/(?:[2-9]|1[0-9])")


class RequestLine:
    """A request line as nginx reads it."""

    __slots__ = ("host", "http_version", "line", "method", "protocol", "uri")

    def __init__(
        self,
        line: bytes,
        method: bytes,
        uri: bytes,
        *,
        http_version: int,
        protocol: bytes,
        host: bytes | None,
    ) -> None:
        self.line = line  # as sent, without its line end: $request
        self.method = method
        self.uri = uri  # from the path on, as sent ($request_uri); "/" for `http://host` alone
        self.http_version = http_version
        self.protocol = protocol  # "HTTP/1.1" as sent ($server_protocol); empty for HTTP/0.9
        self.host = host  # an absolute-form target's host, port included


def parse_request_line(line: bytes) -> RequestLine:
    """`line` without its LF; raises RequestError 400 (or 505 for HTTP/2 and above)."""
    match = _REQUEST_LINE.fullmatch(line)
    if match is None:
        raise RequestError(505 if _VERSION_REFUSED.match(line) else 400)
    method, path, protocol = match.group("method", "path", "protocol")
    host = None
    if path is None:
        host = match.group("host")
        path = match.group("rest")
        if path is None:
            if not match.group("after").startswith(b" "):
                raise RequestError(400)  # `http://host` ends with the line: nginx wants a space after it
            path = b"/"
    if protocol is None:
        if method != b"GET":
            raise RequestError(400)  # "client sent invalid method in HTTP/0.9 request"
        version = HTTP_09
        protocol = b""
    else:
        version = HTTP_10 + int(match.group("minor"))
    end = len(line) - 1 if line.endswith(b"\r") else len(line)
    return RequestLine(line[:end], method, path, http_version=version, protocol=protocol, host=host)


_TARGET_PREFIX: Final = (
    rb"/[^\x00-\x20\x7f]*"
    rb"|[A-Za-z][A-Za-z0-9+.-]*(?::(?:/(?:/(?:"
    rb"\[[0-9A-Za-z:._~!$&'()*+,;=-]*(?:\](?::[0-9]*)?(?:[/?][^\x00-\x20\x7f]*)?)?"
    rb"|[A-Za-z0-9.-]*(?::[0-9]*)?(?:[/?][^\x00-\x20\x7f]*)?"
    rb")?)?)?)?"
)
_VERSION_PREFIX: Final = rb"H(?:T(?:T(?:P(?:/(?:1(?:\.[0-9]{0,3})?)?)?)?)?)?|HTTP/1\.[0-9]{1,3} +"
# what can start a valid request line: nginx refuses the rest as soon as it reads a byte that cannot
_REQUEST_LINE_PREFIX: Final = re.compile(
    _METHOD
    + rb"(?: +(?:(?:"
    + _TARGET_PREFIX
    + rb")|(?:"
    + _TARGET_UNNAMED
    + rb") +(?:"
    + _VERSION_PREFIX
    + rb")?|(?:"
    + _TARGET_UNNAMED
    + rb")(?: +HTTP/1\.[0-9]{1,3})? *\r)?)?"
)


def request_line_refused(start: bytes) -> int:
    """The status nginx answers a request line that starts with `start` (no LF yet) before the line
    ends, or 0 while it can still be valid: a client speaking TLS or another protocol, or ending its
    lines with a bare CR, gets its answer without waiting."""
    if _REQUEST_LINE_PREFIX.fullmatch(start) is not None:
        return 0
    return 505 if _VERSION_REFUSED.match(start) else 400


def header_line_refused(start: bytes) -> bool:
    """Whether nginx refuses a header line that starts with `start` (no LF yet) before it ends: a name
    that is empty or has a control, space or DEL, a NUL in the value, a CR before anything but CR and
    LF."""
    content, cr, after = start.partition(b"\r")
    if cr and (after.strip(b"\r") or (not content and after)):
        return True
    if not content:
        return False
    try:
        parse_header_line(content, underscores=True)
    except RequestError:
        return True
    return False


# header names: letters, digits and `-` are valid; `_` is when underscores_in_headers is on; any other
# byte but controls, space, DEL and `:` makes the name invalid (ignore_invalid_headers drops the line)
_NAME_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"
_NAME_BYTES_UNDERSCORES: Final = _NAME_BYTES + b"_"
_NAME_FORBIDDEN: Final = frozenset([*range(0x21), 0x7F])


class HeaderLine:
    """A header line as nginx reads it: `valid` False when the name has bytes nginx calls invalid."""

    __slots__ = ("name", "valid", "value")

    def __init__(self, name: bytes, value: bytes, valid: bool) -> None:
        self.name = name
        self.value = value
        self.valid = valid


def parse_header_line(line: bytes, *, underscores: bool) -> HeaderLine:
    """`line` without its CRs and LF; raises RequestError 400 where nginx finds the line invalid: a name
    that is empty or has a control, a space or DEL, a NUL in the value, a CR not before the line end.
    The value loses the spaces around it (not tabs); a line without `:` is a name with an empty value."""
    name, _, value = line.partition(b":")
    if not name:
        raise RequestError(400)
    valid = not name.translate(None, _NAME_BYTES_UNDERSCORES if underscores else _NAME_BYTES)
    if not valid and not _NAME_FORBIDDEN.isdisjoint(name):
        raise RequestError(400)
    if value.find(b"\x00") >= 0 or value.find(b"\r") >= 0:
        raise RequestError(400)
    return HeaderLine(name, value.strip(b" "), valid)


# header lines as most clients and servers write them, read at once (`fields`)
_FIELDS: Final = re.compile(rb"^([A-Za-z0-9-]+): *([^\r]*)\r\n", re.MULTILINE)
_FIELDS_UNDERSCORES: Final = re.compile(rb"^([A-Za-z0-9_-]+): *([^\r]*)\r\n", re.MULTILINE)
# header blocks read lately, by their bytes, one dictionary per pattern: a client sends the same header
# lines request after request, an upstream the same response head (its Date changes once a second)
_READ: Final[dict[bytes, list[tuple[bytes, bytes]]]] = {}
_READ_UNDERSCORES: Final[dict[bytes, list[tuple[bytes, bytes]]]] = {}
_READ_BLOCKS: Final = 64  # blocks kept in each (emptied when full)
_READ_BLOCK_SIZE: Final = 1024  # longer blocks are read each time


def fields(data: bytes, start: int, end: int, *, underscores: bool) -> list[tuple[bytes, bytes]] | None:
    """The header lines of data[start:end] (`start` just after a LF, `end` just after a CRLF) when
    each is `name: value` ended by CRLF, with a name nginx finds valid, no NUL, no CR or LF in the
    value and no space after it: what nginx reads of them, found at once; None for anything else, to
    be read line by line. A block read lately is found by its bytes: its lines are not read again (a
    pattern's search costs about a thousand instructions a line, the lookup a fifth of one)."""
    if end - start > _READ_BLOCK_SIZE:
        return _fields(data, start, end, underscores)
    block = data[start:end]
    read = _READ_UNDERSCORES if underscores else _READ
    found = read.get(block)
    if found is None:
        found = _fields(block, 0, len(block), underscores)
        if found is None:
            return None
        keep(read, block, found, _READ_BLOCKS)
    return list(found)  # the caller's own: the one kept is not changed


def _fields(data: bytes, start: int, end: int, underscores: bool) -> list[tuple[bytes, bytes]] | None:
    """`fields` read with the pattern. (Each line the pattern takes ends one LF: a count of them tells
    that none was left out. A value of spaces only is taken as empty, as nginx does.) A space at a
    value's end is looked for in each value found: a search of the block for ` \r\n` cost more than the
    pattern."""
    pattern = _FIELDS_UNDERSCORES if underscores else _FIELDS
    found: list[tuple[bytes, bytes]] = pattern.findall(data, start, end)
    if len(found) != data.count(b"\n", start, end) or data.find(b"\x00", start, end) >= 0:
        return None
    for _, value in found:
        if value[-1:] == b" ":
            return None
    return found


# header names lowered lately (emptied when full): the names of a block found again (`fields`) are the
# same objects each time, whose hashes are kept, and so is the lowered name given for them, where lower()
# made a new one to hash again in each set or dictionary it was looked up in
_LOWERED: Final[dict[bytes, bytes]] = {}
_LOWERED_KEPT: Final = 256
_LOWERED_SIZE: Final = 64  # longer names are lowered each time


def lower_name(name: bytes) -> bytes:
    """`name.lower()`."""
    lowered = _LOWERED.get(name)
    if lowered is None:
        lowered = name.lower()
        if len(name) <= _LOWERED_SIZE:
            keep(_LOWERED, name, lowered, _LOWERED_KEPT)
    return lowered


def parse_content_length(value: bytes) -> int:
    """ngx_atoof: decimal digits only, up to 2^63 - 1; -1 when it is not that. Up to 18 digits (below
    the limit) are added up here: isdigit() and int() cost two method calls."""
    if 0 < len(value) <= 18:
        number = 0
        for byte in value:
            if byte < 0x30 or byte > 0x39:
                return -1
            number = number * 10 + byte - 0x30
        return number
    if not value.isdigit():
        return -1
    number = int(value)
    return number if number <= MAX_OFF_T else -1


_STATUS_LINE: Final = re.compile(rb"HTTP/([1-9][0-9]{0,2})\.([0-9]{1,3}) +([0-9]{3})(?:[ .][^\r]*)?\r?")


# status lines read lately (emptied when full): a dictionary's lookup, where an lru_cache's call cost four
_STATUS_LINES: Final[dict[bytes, tuple[int, bytes, int]]] = {}
_STATUS_LINES_KEPT: Final = 64


def parse_status_line(line: bytes) -> tuple[int, bytes, int]:
    """An upstream's status line without its LF: the status, the line from the code on ("200 OK", as
    nginx passes it on) and the HTTP version; status 0 where nginx finds it invalid (nginx would then
    take the response as HTTP/0.9). Cached: upstreams send the same few."""
    found = _STATUS_LINES.get(line)
    if found is None:
        found = _parse_status_line(line)
        keep(_STATUS_LINES, line, found, _STATUS_LINES_KEPT)
    return found


def _parse_status_line(line: bytes) -> tuple[int, bytes, int]:
    match = _STATUS_LINE.fullmatch(line)
    if match is None:
        return 0, b"", 0
    major, minor, code = match.groups()
    status_line = line[match.start(3) :]
    if status_line[-1:] == b"\r":
        status_line = status_line[:-1]
    return int(code), status_line, (1000 if major == b"1" else int(major) * 1000) + int(minor)


class ChunkError(Exception):
    """A chunked body nginx refuses ("client sent invalid chunked body", "upstream sent invalid chunked
    response")."""


# where a chunked body is between two reads
_SIZE, _DATA, _AFTER_DATA, _TRAILER = range(4)
_HEX_DIGITS: Final = b"0123456789abcdefABCDEF"
_AFTER_SIZE: Final = frozenset(b"; \t")
_MAX_CHUNK: Final = MAX_OFF_T // 16  # nginx refuses a size above it as soon as one more byte follows


class ChunkedBody:
    """ngx_http_parse_chunked: a chunk size in hexadecimal, then the line end (CRLF or LF), or `;`, a
    space or a tab and anything up to it; CRLF or LF after each chunk's data; trailer lines up to an
    empty line, dropped. A CR anywhere but before a LF is an error. `feed` takes the bytes as they come
    and gives the data; `done` is set at the end; `consumed` counts the body's bytes with their framing
    (nginx's $request_length does)."""

    __slots__ = ("_left", "_line", "_state", "consumed", "done")

    def __init__(self) -> None:
        self._state = _SIZE
        self._line = b""  # what matters of an incomplete size or trailer line (see `_partial`)
        self._left = 0  # data bytes of the current chunk still to come
        self.consumed = 0
        self.done = False

    def feed(self, data: bytes, pos: int, out: list[bytes]) -> int:
        """Read data[pos:]: the chunks' data go to `out`; returns where the body ended in `data` (what
        follows belongs to the next request), or len(data). Raises ChunkError."""
        length = len(data)
        start = pos
        while pos < length and not self.done:
            if self._state == _DATA:
                take = min(self._left, length - pos)
                out.append(data[pos : pos + take])
                pos += take
                self._left -= take
                if not self._left:
                    self._state = _AFTER_DATA
                continue
            end = data.find(b"\n", pos)
            if end < 0:
                self._partial(data[pos:])
                pos = length
                break
            line = data[pos:end]
            if self._line:
                line, self._line = self._line + line, b""
            pos = end + 1
            self._complete_line(line)
        self.consumed += pos - start
        return pos

    def _complete_line(self, line: bytes) -> None:
        state = self._state
        if state == _SIZE:
            size, rest = _size_and_rest(line)
            if rest and rest != b"\r" and (rest[0] not in _AFTER_SIZE or rest.find(b"\r", 0, -1) >= 0):
                raise ChunkError
            if size:
                self._left = size
                self._state = _DATA
            else:
                self._state = _TRAILER
        elif state == _AFTER_DATA:
            if line and line != b"\r":
                raise ChunkError
            self._state = _SIZE
        elif not line or line == b"\r":
            self.done = True
        elif line.find(b"\r", 0, -1) >= 0:
            raise ChunkError

    def _partial(self, piece: bytes) -> None:
        """An incomplete line, refused at once where nginx would refuse it already; what is kept of it
        is what the rest of the line is checked against: the size (`;` after it once past it), or
        whether a trailer line began, and a CR at the end."""
        line = self._line + piece
        state = self._state
        if state == _SIZE:
            digits = len(line) - len(line.lstrip(_HEX_DIGITS))
            if digits == len(line):
                if digits > 1 and int(line[:-1], 16) > _MAX_CHUNK:
                    raise ChunkError
                self._line = b"%x" % int(line, 16)
                return
            size, rest = _size_and_rest(line)
            if rest != b"\r" and (rest[0] not in _AFTER_SIZE or rest.find(b"\r", 0, -1) >= 0):
                raise ChunkError
            self._line = b"%x;" % size + (b"\r" if rest.endswith(b"\r") else b"")
        elif state == _AFTER_DATA:
            if line != b"\r":
                raise ChunkError
            self._line = line
        else:
            if line.find(b"\r", 0, -1) >= 0:
                raise ChunkError
            self._line = b"x\r" if line.endswith(b"\r") and len(line) > 1 else line[-1:]


def _size_and_rest(line: bytes) -> tuple[int, bytes]:
    """A chunk-size line's size and what follows its digits; ChunkError without digits or past nginx's
    largest size."""
    rest = line.lstrip(_HEX_DIGITS)
    digits = len(line) - len(rest)
    if not digits:
        raise ChunkError
    size = int(line[:digits], 16)
    if size > _MAX_CHUNK:
        raise ChunkError
    return size, rest
