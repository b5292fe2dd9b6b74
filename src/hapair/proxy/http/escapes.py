"""nginx's escaping of bytes for URI components, HTML and JSON, and its reading of UTF-8 (ngx_string.c),
for the listings of the autoindex module."""

from __future__ import annotations

from typing import Final

# NGX_ESCAPE_URI_COMPONENT
_URI_COMPONENT: Final = {
    code: b"%%%02X" % code
    for code in range(0x100)
    if not (chr(code).isascii() and (chr(code).isalnum() or chr(code) in "-._~"))
}
_HTML: Final = {ord("<"): b"&lt;", ord(">"): b"&gt;", ord("&"): b"&amp;", ord('"'): b"&quot;"}
_JSON_SHORT: Final = {0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x08: b"\\b", 0x0C: b"\\f"}


def _escape(data: bytes, table: dict[int, bytes]) -> bytes:
    if not any(byte in table for byte in data):
        return data
    return b"".join(table.get(byte) or bytes((byte,)) for byte in data)


def escape_uri_component(data: bytes) -> bytes:
    return _escape(data, _URI_COMPONENT)


def escape_html(data: bytes) -> bytes:
    return _escape(data, _HTML)


def escape_json(data: bytes) -> bytes:
    out = bytearray()
    for byte in data:
        if byte > 0x1F:
            if byte in (0x5C, 0x22):
                out.append(0x5C)
            out.append(byte)
        else:
            out += _JSON_SHORT.get(byte) or b"\\u00%d%X" % (byte >> 4, byte & 0xF)
    return bytes(out)


_INVALID: Final = 0xFFFFFFFF
_INCOMPLETE: Final = 0xFFFFFFFE


def _utf8_decode(data: bytes, position: int) -> tuple[int, int]:
    """ngx_utf8_decode: the code point at `position` (above 0x10FFFF when invalid) and where the next
    one starts."""
    first = data[position]
    if first >= 0xF0:
        code, valid, length = first & 0x07, 0xFFFF, 3
    elif first >= 0xE0:
        code, valid, length = first & 0x0F, 0x7FF, 2
    elif first >= 0xC2:
        code, valid, length = first & 0x1F, 0x7F, 1
    else:
        return _INVALID, position + 1
    if len(data) - position - 1 < length:
        return _INCOMPLETE, position
    position += 1
    for _ in range(length):
        byte = data[position]
        position += 1
        if byte < 0x80:
            return _INVALID, position
        code = (code << 6) | (byte & 0x3F)
    return (code, position) if code > valid else (_INVALID, position)


def utf8_length(data: bytes) -> int:
    """ngx_utf8_length: characters, or the number of bytes when it is not valid UTF-8."""
    count, position = 0, 0
    while position < len(data):
        if data[position] < 0x80:
            position += 1
        else:
            code, position = _utf8_decode(data, position)
            if code > 0x10FFFF:
                return len(data)
        count += 1
    return count


def utf8_prefix(data: bytes, characters: int) -> bytes:
    """ngx_utf8_cpystrn(dst, data, characters + 1, ...): the first `characters` characters, stopping
    before one that is not valid UTF-8."""
    position = 0
    for _ in range(characters):
        if position >= len(data):
            break
        if data[position] < 0x80:
            position += 1
            continue
        code, following = _utf8_decode(data, position)
        if code > 0x10FFFF:
            break
        position = following
    return data[:position]
