"""Response heads and trailers in HPACK, byte for byte as nginx's HTTP/2 header filter encodes them
(ngx_http_v2_header_filter, ngx_http_v2_create_trailers_frame), so that `$bytes_sent` counts what
nginx's does.

nginx never refers to HPACK's dynamic table: its own headers (`:status`, `server`, `date`,
`content-type`, `content-length`, `last-modified`, `location`, `vary`) name a static-table entry, with
incremental indexing; the others are literals with their names in lower case. A string is Huffman-coded
when that is shorter than the string itself (ngx_http_v2_string_encode); `content-length` and a
`:status` without a static entry are written raw. After the client changes SETTINGS_HEADER_TABLE_SIZE,
the next block starts with a table size update to 0.
"""

from __future__ import annotations

from functools import lru_cache

from hpack.hpack import encode_integer
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

from ..clock import http_date
from ..response import Framing, ResponseHead

_HUFFMAN = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH)

# the static table's entries nginx names (RFC 7541, appendix A)
_STATUS_INDEXED = {200: 8, 204: 9, 206: 10, 304: 11, 400: 12, 404: 13, 500: 14}
_STATUS = 8
_CONTENT_LENGTH = 28
_CONTENT_TYPE = 31
_DATE = 33
_LAST_MODIFIED = 44
_LOCATION = 46
_SERVER = 54
_VARY = 59
_SHORT = 0x7F  # a string length below it is its own byte (the Huffman bit clear)
_ACCEPT_ENCODING = b"\x8b\x84\x84\x2d\x69\x5b\x05\x44\x3c\x86\xaa\x6f"  # "Accept-Encoding", Huffman-coded
_TABLE_SIZE_ZERO = b"\x20"
_NEW_NAME = b"\x00"  # a literal without indexing, its name given


def _indexed(index: int) -> bytes:
    return bytes((0x80 | index,))


def _with_name(index: int) -> bytes:
    """A literal with incremental indexing whose name is static entry `index` (ngx_http_v2_inc_indexed)."""
    return bytes((0x40 | index,))


@lru_cache(maxsize=1024)
def string(value: bytes) -> bytes:
    """ngx_http_v2_string_encode: Huffman-coded when its whole bytes are fewer than the string's. Cached:
    a worker writes the same few values (its Date of the second, content types, ...) again and again."""
    if value:
        coded = _HUFFMAN.encode(value)
        if len(coded) < len(value):
            length = encode_integer(len(coded), 7)
            length[0] |= 0x80
            return bytes(length) + coded
    return bytes(encode_integer(len(value), 7)) + value


def _raw(value: bytes) -> bytes:
    length = len(value)
    return (bytes((length,)) if length < _SHORT else bytes(encode_integer(length, 7))) + value


def _field(name: bytes, value: bytes) -> bytes:
    return _NEW_NAME + string(name.lower()) + string(value)


class HeadEncoder:
    """The HPACK side of one connection: `head` and `trailers` give a header block to send;
    `header_table_size` is set by h2 when the client changes the table's size."""

    __slots__ = ("_server", "_table_update")

    def __init__(self, server: bytes) -> None:
        self._server = _with_name(_SERVER) + string(server)
        self._table_update = False

    @property
    def header_table_size(self) -> int:
        return 0

    @header_table_size.setter
    def header_table_size(self, value: int) -> None:
        self._table_update = True

    def head(self, head: ResponseHead, date: bytes, framing: Framing) -> bytes:
        """`head` as nginx's header filter writes it (`date`: the current Date value)."""
        return self._table_size() + head_block(head, self._server, date, framing)

    def trailers(self, trailers: list[tuple[bytes, bytes]]) -> bytes:
        return self._table_size() + b"".join(_field(name, value) for name, value in trailers)

    def _table_size(self) -> bytes:
        """The table size update that starts the first block after the client changed the size."""
        if self._table_update:
            self._table_update = False
            return _TABLE_SIZE_ZERO
        return b""


_STATUS_FIELDS = {status: _indexed(index) for status, index in _STATUS_INDEXED.items()}
_STATUS_NAME = _with_name(_STATUS)
_DATE_NAME = _with_name(_DATE)
_CONTENT_TYPE_NAME = _with_name(_CONTENT_TYPE)
_CONTENT_LENGTH_NAME = _with_name(_CONTENT_LENGTH)
_LAST_MODIFIED_NAME = _with_name(_LAST_MODIFIED)
_LOCATION_NAME = _with_name(_LOCATION)
_VARY_NAME = _with_name(_VARY)


def head_block(head: ResponseHead, server: bytes, date: bytes, framing: Framing) -> bytes:
    """The header block of `head`, in nginx's order: `:status`, server, date, content-type,
    content-length, last-modified, location, vary, then the other headers."""
    status = head.status
    indexed = _STATUS_FIELDS.get(status)
    out = [indexed if indexed is not None else _STATUS_NAME + _raw(b"%03d" % status)]
    if not head.upstream_server:
        out.append(server)
    if not head.upstream_date:
        out += (_DATE_NAME, string(date))
    if head.content_type:
        content_type = head.content_type
        if head.charset:
            content_type += b"; charset=" + head.charset
        out += (_CONTENT_TYPE_NAME, string(content_type))
    if head.content_length >= 0:
        out += (_CONTENT_LENGTH_NAME, _raw(b"%d" % head.content_length))
    if head.last_modified is not None:
        out += (_LAST_MODIFIED_NAME, string(http_date(head.last_modified).encode()))
    location = head.location
    value = head.headers[location][1] if location >= 0 else b""
    if value:  # an empty one is not written
        if value.startswith(b"/") and framing.redirect_base is not None:
            value = framing.redirect_base + value
        out += (_LOCATION_NAME, string(value))
    if head.gzip_vary:
        out += (_VARY_NAME, _ACCEPT_ENCODING)
    for index, (name, value) in enumerate(head.headers):
        if index != location:
            out.append(_field(name, value))
    return b"".join(out)
