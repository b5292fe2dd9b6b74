"""The keys of a limit zone and where their states are: a hash table of the zone's nodes (nginx keeps a
red-black tree; how the nodes are found does not show, where they are and how much room they take does).

The table sits after the zone's slab pool (`ZoneSpec.extra` bytes): the offset of the module's own record
(nginx's `sh`, allocated from the slab as nginx allocates it), the table's mask, then one chain per bucket.
Each node starts with the next node of its chain, the key's hash and the key's length; the module puts its
own fields after those and the key after its fields.
"""

from __future__ import annotations

import struct
import zlib

from ..shm import SharedZone
from ..slab import page_count

_HEAD = struct.Struct("<II")  # the module's record, the bucket mask
_U32 = struct.Struct("<I")
NODE_HEAD = struct.Struct("<IIH")  # next in chain, hash, key length
_HASH_AT = 4
_LENGTH_AT = 8


def index_size(size: int) -> int:
    """The bytes the table of a zone of `size` bytes takes: a bucket for every 16 chunks of 256 bytes."""
    pages, _ = page_count(size)
    return _HEAD.size + _bucket_count(pages) * _U32.size


def _bucket_count(pages: int) -> int:
    return 1 << max(4, (pages * 16 - 1).bit_length())


class KeyIndex:
    """The table of `zone`, whose nodes keep their key at `key_at`."""

    __slots__ = ("_buckets", "_mask", "_memory", "key_at", "record")

    def __init__(self, zone: SharedZone, key_at: int) -> None:
        self._memory = zone.memory
        self.key_at = key_at
        self.record, self._mask = _HEAD.unpack_from(zone.memory, zone.size)
        self._buckets = zone.size + _HEAD.size

    @staticmethod
    def initialize(zone: SharedZone, record: int) -> None:
        """A new zone's empty table, with the offset of the module's record."""
        pages, _ = page_count(zone.size)
        count = _bucket_count(pages)
        start = zone.size + _HEAD.size
        zone.memory[start : start + count * _U32.size] = bytes(count * _U32.size)
        _HEAD.pack_into(zone.memory, zone.size, record, count - 1)

    def find(self, key: bytes, key_hash: int) -> int:
        """The node of `key`, 0 when there is none."""
        memory = self._memory
        node = _U32.unpack_from(memory, self._buckets + (key_hash & self._mask) * 4)[0]
        length = len(key)
        key_at = self.key_at
        while node:
            following, found_hash, found_length = NODE_HEAD.unpack_from(memory, node)
            if (
                found_hash == key_hash
                and found_length == length
                and memory[node + key_at : node + key_at + length] == key
            ):
                return node  # type: ignore[no-any-return]
            node = following
        return 0

    def insert(self, node: int, key: bytes, key_hash: int) -> None:
        """A new node: its head and key written, first in its chain."""
        bucket = self._buckets + (key_hash & self._mask) * 4
        first = _U32.unpack_from(self._memory, bucket)[0]
        NODE_HEAD.pack_into(self._memory, node, first, key_hash, len(key))
        self._memory[node + self.key_at : node + self.key_at + len(key)] = key
        _U32.pack_into(self._memory, bucket, node)

    def remove(self, node: int) -> None:
        """Take the node out of its chain."""
        memory = self._memory
        following, key_hash, _ = NODE_HEAD.unpack_from(memory, node)
        link = self._buckets + (key_hash & self._mask) * 4
        current = _U32.unpack_from(memory, link)[0]
        while current != node:
            link = current  # a node's `next` is its first field
            current = _U32.unpack_from(memory, link)[0]
        _U32.pack_into(memory, link, following)


def key_hash(key: bytes) -> int:
    return zlib.crc32(key)
