"""The hot paths' memo: what it keeps, and that it never holds more than its limit."""

from __future__ import annotations

from hapair.proxy.http.memo import keep


def test_keep_returns_the_value_and_keeps_it() -> None:
    kept: dict[bytes, int] = {}
    assert keep(kept, b"a", 1, 2) == 1
    assert kept == {b"a": 1}


def test_a_full_memo_is_emptied_before_the_next_key() -> None:
    kept: dict[bytes, int] = {}
    for number in range(3):
        keep(kept, bytes([number]), number, 3)
    keep(kept, b"new", 9, 3)
    assert kept == {b"new": 9}


def test_a_key_kept_again_replaces_its_value() -> None:
    kept = {b"a": 1}
    keep(kept, b"a", 2, 4)
    assert kept == {b"a": 2}
