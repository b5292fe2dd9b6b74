"""What a hot path worked out lately, kept by its key in a dictionary emptied whole when it is full.

A server reads the same few request lines, header blocks, hosts, targets and upstream heads again and
again, so a dictionary's lookup spares reading them again (an lru_cache's call cost four); emptying the
dictionary when it is full bounds its memory whatever clients send, for the price of reading everything
once more after that. The lookups stay the callers' own `dict.get` (through a class of its own, each was
a call more: 240 instructions a request of the seed's location, callgrind), so only the keeping, off the
path of a request found again, is shared."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def keep(kept: dict[K, V], key: K, value: V, limit: int) -> V:
    """`value`, kept for `key` in `kept`, which is emptied first when it holds `limit` keys."""
    if len(kept) >= limit:
        kept.clear()
    kept[key] = value
    return value
