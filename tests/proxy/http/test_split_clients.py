"""nginx's MurmurHash2 as split_clients uses it, against values of Austin Appleby's reference
MurmurHash2 (seed 0, little-endian), computed with its C code."""

from __future__ import annotations

import pytest

from hapair.proxy.http.split_clients import murmur_hash2

REFERENCE = [
    (b"", 0),
    (b"a", 2456313694),
    (b"ab", 446775395),
    (b"abc", 324500635),
    (b"abcd", 646393889),
    (b"abcde", 1594468574),
    (b"127.0.0.1", 3054706065),
    (b"hello, world", 1263312256),
    (b"\xff\xfe\x80", 2735668869),
]


@pytest.mark.parametrize(("data", "expected"), REFERENCE)
def test_murmur_hash2_is_the_reference(data: bytes, expected: int) -> None:
    assert murmur_hash2(data) == expected
