"""Request header blocks in HPACK: hpack's decoder, with a shorter way through the blocks most requests
on a connection send after their first one.

A client that repeats a request sends each field as an index into the static or dynamic table (one byte
while the index is below 127), and the fields it keeps out of the table (h2load's and curl's `:path`, for
one) as a literal without indexing whose name is such an index. A block of these alone changes no table:
`IndexedDecoder` reads it in one pass, with the Huffman-coded values it has met kept, and gives any other
block (a literal to index, a new name, a table size update, a never-indexed field, a long index or
value) to hpack's decoder whole. The checks are hpack's: an index past the tables is an error, the list
is held to `max_header_list_size` (32 bytes more per field than its name and value, RFC 7541's count)
as it is read, so that an HPACK bomb is stopped as early, and the table's size to what was allowed.

Such a block means the same fields as long as the dynamic table does not change, and a client sends the
same block again and again (the same request's, or one differing in `:path` alone): the fields of the
blocks read lately are kept by their bytes (up to 64 blocks of up to 1 KiB), so that a block met again
is a dictionary lookup; its list's size is held to `max_header_list_size` again, and the table's size
checked. They are forgotten when hpack's decoder reads a block: only that changes the dynamic table (h2
sets the decoder's limits, never the table's size).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from hpack import Decoder, OversizedHeaderListError
from hpack.huffman_table import decode_huffman

from ..memo import keep

ENTRY_OVERHEAD = 32  # RFC 7541, 4.1: what each entry counts beyond its name and value
_INDEXED = range(0x81, 0xFF)  # an indexed field whose index fits in the byte (1 to 126)
_LITERAL = range(0x01, 0x0F)  # a literal without indexing whose name is entry 1 to 14
_HUFFMAN = 0x80
_LONG = 0x7F  # a value length that goes on in the next bytes
_KEPT_BLOCKS = 64  # blocks whose fields are kept (all forgotten when full)
_KEPT_BLOCK_SIZE = 1024  # longer blocks are read each time

huffman = lru_cache(maxsize=1024)(decode_huffman)


class IndexedDecoder(Decoder):
    """hpack's Decoder, with a block that changes no table read in one pass (its fields are the tables'
    own tuples, or plain tuples, where hpack makes a HeaderTuple of each), and kept."""

    def __init__(self) -> None:
        super().__init__()
        self._kept: dict[bytes, tuple[list[tuple[bytes, bytes]], int]] = {}  # a block: its fields, their size

    def decode(self, data: bytes, raw: bool = False) -> Iterable[tuple[bytes, bytes]]:  # type: ignore[override]
        if not raw:
            self._kept.clear()
            return super().decode(data, raw)
        kept = self._kept.get(data)
        if kept is None:
            kept = self._unindexing(data)
            if kept is None:
                self._kept.clear()  # hpack's reading may change the dynamic table
                return super().decode(data, raw)
            if len(data) <= _KEPT_BLOCK_SIZE:
                keep(self._kept, data, kept, _KEPT_BLOCKS)
        headers, size = kept
        self._hold_to_limit(size)
        self._assert_valid_table_size()
        return list(headers)  # the caller's own: the one kept is not changed

    def _hold_to_limit(self, size: int) -> None:
        limit = self.max_header_list_size
        if size > limit:
            raise OversizedHeaderListError(f"A header list larger than {limit} has been received")

    def _unindexing(self, data: bytes) -> tuple[list[tuple[bytes, bytes]], int] | None:
        """The fields of a block made of short indexed fields and short literals without indexing
        alone, and their size; None for any other block."""
        entry = self.header_table.get_by_index
        headers: list[tuple[bytes, bytes]] = []
        size = 0
        at = 0
        end = len(data)
        while at < end:
            first = data[at]
            if first in _INDEXED:
                header = entry(first & 0x7F)
                at += 1
            elif first in _LITERAL and at + 1 < end:
                marker = data[at + 1]
                length = marker & 0x7F
                start = at + 2
                at = start + length
                if length == _LONG or at > end:
                    return None
                value = data[start:at]
                header = (entry(first)[0], huffman(value) if marker & _HUFFMAN else value)
            else:
                return None
            size += ENTRY_OVERHEAD + len(header[0]) + len(header[1])
            self._hold_to_limit(size)
            headers.append(header)
        return headers, size
