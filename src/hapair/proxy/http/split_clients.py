"""The value of a `split_clients` variable for one request (ngx_http_split_clients_variable): nginx's
MurmurHash2 of the source's value (its bytes; a value not from the wire as UTF-8) chooses the line; the
value is kept for the rest of the request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.variables import SplitClients

from .variables import CompiledTemplate

if TYPE_CHECKING:
    from .exchange import Exchange

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur_hash2(data: bytes) -> int:
    """ngx_murmur_hash2: MurmurHash2 with seed 0, little-endian words, 32 bits."""
    length = len(data)
    h = length & _MASK
    end = length - length % 4
    for i in range(0, end, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    rest = length - end
    if rest:
        if rest == 3:
            h ^= data[end + 2] << 16
        if rest >= 2:
            h ^= data[end + 1] << 8
        h ^= data[end]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


class SplitVariable:
    """One `split_clients`, made ready: calling it gives the request's value."""

    __slots__ = ("_source", "_splits", "name")

    def __init__(self, made: SplitClients) -> None:
        self.name = made.variable
        self._source = CompiledTemplate(made.source)
        self._splits = tuple((split.bound, split.value) for split in made.splits)

    def __call__(self, ex: Exchange) -> str:
        text = self._source.evaluate(ex)
        try:
            data = text.encode("latin-1")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "surrogateescape")
        hashed = murmur_hash2(data)
        value = ""
        for bound, chosen in self._splits:
            if hashed < bound or bound == 0:
                value = chosen
                break
        ex.set_variable(self.name, value)
        return value
