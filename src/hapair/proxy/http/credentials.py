"""nginx's ngx_http_auth_basic_user: the user and password of a request's `Authorization: Basic ...`, for
auth_basic and `$remote_user` (which the default `combined` log format has: a module of its own, so that
a worker logging it holds none of auth_basic's). The header's Base64 is decoded as nginx decodes it (up
to the first `=`, no other character outside the alphabet).
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .request import Request

_BASIC = b"basic "
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def decode_base64(data: bytes) -> bytes | None:
    """ngx_decode_base64: the text up to the first `=`; any other character outside the alphabet, or a
    length that leaves a lone character, is an error; the bits of an incomplete group are dropped."""
    end = data.find(b"=")
    text = data if end < 0 else data[:end]
    if not _ALPHABET.issuperset(text) or len(text) % 4 == 1:
        return None
    return base64.b64decode(text + b"=" * (-len(text) % 4))


def basic_credentials(request: Request) -> tuple[bytes, bytes] | None:
    """The user and password of the request's `Authorization: Basic ...` (None: none usable)."""
    values = request.header_values("authorization")
    if not values:
        return None
    value = values[0]
    if value[:6].lower() != _BASIC:
        return None
    decoded = decode_base64(value[6:].lstrip(b" "))
    if not decoded:
        return None
    colon = decoded.find(b":")
    if colon <= 0:
        return None
    return decoded[:colon], decoded[colon + 1 :]
