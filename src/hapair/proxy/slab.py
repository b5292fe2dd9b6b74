"""nginx's slab allocator (ngx_slab.c, 64-bit, 4 KiB pages) over a shared memory zone, so that a zone of
a given size holds as many states as nginx's does and runs out where nginx's does.

The zone starts with the pool's header, its slot lists, its statistics and a descriptor per page, laid
out with nginx's sizes; the pages follow, aligned to 4 KiB. A request of more than 2 KiB takes whole
pages (first fit in the list of free runs, which merge with their neighbours when freed); a smaller one
takes a chunk of its power-of-two size (8 bytes at least) from the first page of its slot that has a free
one, the lowest free chunk; a page whose last chunk is freed goes back to the free runs. Chunks of 8, 16
and 32 bytes keep their page's bitmap in the page's first chunks, as nginx does.

Addresses are offsets in the zone's memory. Descriptors are linked by their offsets; a descriptor's
`prev` carries its page's type in its two low bits, as nginx's pointers do (offsets are multiples of 8).
"""

from __future__ import annotations

import struct

PAGE_SIZE = 4096
PAGE_SHIFT = 12
MIN_SHIFT = 3  # the smallest chunk: 8 bytes
SLOTS = PAGE_SHIFT - MIN_SHIFT  # chunk sizes 8 ... 2048
EXACT_SHIFT = 6  # 64-byte chunks: one 64-bit word of the descriptor maps a page
MAX_SIZE = PAGE_SIZE // 2

POOL_HEADER = 200  # sizeof(ngx_slab_pool_t) on x86-64 Linux
DESCRIPTOR = 24  # sizeof(ngx_slab_page_t)
STAT = 32  # sizeof(ngx_slab_stat_t)
FREE_HEAD = 48  # offsetof(ngx_slab_pool_t, free): the head of the list of free runs
SLOTS_AT = POOL_HEADER
PAGES_AT = POOL_HEADER + SLOTS * (DESCRIPTOR + STAT)

TYPE_MASK = 3
PAGE, BIG, EXACT, SMALL = 0, 1, 2, 3
WORD_BITS = 64
BUSY = (1 << WORD_BITS) - 1
PAGE_START = 1 << (WORD_BITS - 1)
MAP_SHIFT = 32
MAP_MASK = BUSY ^ ((1 << MAP_SHIFT) - 1)
SHIFT_MASK = 0xF
NULL = 0

_U64 = struct.Struct("<Q")


def page_count(size: int) -> tuple[int, int]:
    """ngx_slab_init: the pages a zone of `size` bytes has, and the offset of the first."""
    pages = (size - PAGES_AT) // (PAGE_SIZE + DESCRIPTOR)
    start = -(-(PAGES_AT + pages * DESCRIPTOR) // PAGE_SIZE) * PAGE_SIZE
    return min(pages, (size - start) // PAGE_SIZE), start


class Slab:
    """The allocator of the zone held in `memory` (its first `size` bytes); `initialize` lays out an
    empty pool (the master does it once, for a new zone)."""

    __slots__ = ("_end", "_memory", "_pages", "_start")

    def __init__(self, memory: memoryview, size: int, *, initialize: bool) -> None:
        self._memory = memory
        self._pages, self._start = page_count(size)
        self._end = PAGES_AT + self._pages * DESCRIPTOR  # one past the last descriptor
        if initialize:
            self._initialize()

    @property
    def pages(self) -> int:
        return self._pages

    def _initialize(self) -> None:
        memory = self._memory
        memory[: PAGES_AT + self._pages * DESCRIPTOR] = bytes(PAGES_AT + self._pages * DESCRIPTOR)
        for slot in range(SLOTS):
            head = SLOTS_AT + slot * DESCRIPTOR
            self._set_next(head, head)
        first = PAGES_AT
        self._set_slab(first, self._pages)
        self._set_next(first, FREE_HEAD)
        self._set_prev(first, FREE_HEAD)
        self._set_next(FREE_HEAD, first)

    # -- descriptors

    def _slab(self, desc: int) -> int:
        return _U64.unpack_from(self._memory, desc)[0]  # type: ignore[no-any-return]

    def _set_slab(self, desc: int, value: int) -> None:
        _U64.pack_into(self._memory, desc, value)

    def _next(self, desc: int) -> int:
        return _U64.unpack_from(self._memory, desc + 8)[0]  # type: ignore[no-any-return]

    def _set_next(self, desc: int, value: int) -> None:
        _U64.pack_into(self._memory, desc + 8, value)

    def _prev(self, desc: int) -> int:
        """The raw `prev`: an offset with the page's type in its low bits."""
        return _U64.unpack_from(self._memory, desc + 16)[0]  # type: ignore[no-any-return]

    def _set_prev(self, desc: int, value: int) -> None:
        _U64.pack_into(self._memory, desc + 16, value)

    def _type(self, desc: int) -> int:
        return self._prev(desc) & TYPE_MASK

    def _address(self, desc: int) -> int:
        return self._start + ((desc - PAGES_AT) // DESCRIPTOR << PAGE_SHIFT)

    def _descriptor(self, address: int) -> int:
        return PAGES_AT + ((address - self._start) >> PAGE_SHIFT) * DESCRIPTOR

    def _unlink(self, desc: int, kind: int) -> None:
        """Take a full page out of its slot's list."""
        self._take_out(desc)
        self._set_next(desc, NULL)
        self._set_prev(desc, kind)

    def _relink(self, desc: int, slot: int, kind: int) -> None:
        """Put a page that has a free chunk again at the head of its slot's list."""
        head = SLOTS_AT + slot * DESCRIPTOR
        self._set_next(desc, self._next(head))
        self._set_next(head, desc)
        self._set_prev(desc, head | kind)
        self._set_prev(self._next(desc), desc | kind)

    # -- allocation

    def alloc(self, size: int) -> int:
        """ngx_slab_alloc_locked: the offset of `size` bytes, 0 when the zone has no room."""
        if size > MAX_SIZE:
            page = self._alloc_pages((size >> PAGE_SHIFT) + (1 if size % PAGE_SIZE else 0))
            return self._address(page) if page else 0
        shift = max((size - 1).bit_length(), MIN_SHIFT)
        slot = shift - MIN_SHIFT
        head = SLOTS_AT + slot * DESCRIPTOR
        page = self._next(head)
        if page != head:
            if shift < EXACT_SHIFT:
                return self._small_chunk(page, shift)
            if shift == EXACT_SHIFT:
                return self._exact_chunk(page)
            return self._big_chunk(page, shift)
        page = self._alloc_pages(1)
        if not page:
            return 0
        return self._new_slab_page(page, shift, head)

    def _small_chunk(self, page: int, shift: int) -> int:
        bitmap = self._address(page)
        words = (PAGE_SIZE >> shift) // WORD_BITS
        for word in range(words):
            value = _U64.unpack_from(self._memory, bitmap + word * 8)[0]
            if value == BUSY:
                continue
            bit = (~value & (value + 1)).bit_length() - 1
            value |= 1 << bit
            _U64.pack_into(self._memory, bitmap + word * 8, value)
            chunk = bitmap + ((word * WORD_BITS + bit) << shift)
            if value == BUSY and all(
                _U64.unpack_from(self._memory, bitmap + later * 8)[0] == BUSY
                for later in range(word + 1, words)
            ):
                self._unlink(page, SMALL)
            return chunk
        raise AssertionError("a page in a slot's list has no free chunk")

    def _exact_chunk(self, page: int) -> int:
        value = self._slab(page)
        bit = (~value & (value + 1)).bit_length() - 1
        value |= 1 << bit
        self._set_slab(page, value)
        if value == BUSY:
            self._unlink(page, EXACT)
        return self._address(page) + (bit << EXACT_SHIFT)

    def _big_chunk(self, page: int, shift: int) -> int:
        value = self._slab(page)
        mask = ((1 << (PAGE_SIZE >> shift)) - 1) << MAP_SHIFT
        used = value >> MAP_SHIFT
        bit = (~used & (used + 1)).bit_length() - 1
        value |= 1 << (bit + MAP_SHIFT)
        self._set_slab(page, value)
        if value & MAP_MASK == mask:
            self._unlink(page, BIG)
        return self._address(page) + (bit << shift)

    def _new_slab_page(self, page: int, shift: int, head: int) -> int:
        address = self._address(page)
        if shift < EXACT_SHIFT:
            reserved = _bitmap_chunks(shift)
            words = (PAGE_SIZE >> shift) // WORD_BITS
            self._memory[address : address + words * 8] = bytes(words * 8)
            _U64.pack_into(self._memory, address, (1 << (reserved + 1)) - 1)
            kind, chunk = SMALL, address + (reserved << shift)
            self._set_slab(page, shift)
        elif shift == EXACT_SHIFT:
            kind, chunk = EXACT, address
            self._set_slab(page, 1)
        else:
            kind, chunk = BIG, address
            self._set_slab(page, (1 << MAP_SHIFT) | shift)
        self._set_next(page, head)
        self._set_prev(page, head | kind)
        self._set_next(head, page)
        return chunk

    def _alloc_pages(self, count: int) -> int:
        """ngx_slab_alloc_pages: the descriptor of `count` pages in a row, 0 when no free run is long
        enough."""
        page = self._next(FREE_HEAD)
        while page != FREE_HEAD:
            run = self._slab(page)
            if run >= count:
                prev = self._prev(page)
                following = self._next(page)
                if run > count:
                    rest = page + count * DESCRIPTOR
                    self._set_prev(page + (run - 1) * DESCRIPTOR, rest)
                    self._set_slab(rest, run - count)
                    self._set_next(rest, following)
                    self._set_prev(rest, prev)
                    self._set_next(prev & ~TYPE_MASK, rest)
                    self._set_prev(following, rest)
                else:
                    self._set_next(prev & ~TYPE_MASK, following)
                    self._set_prev(following, prev)
                self._set_slab(page, count | PAGE_START)
                self._set_next(page, NULL)
                self._set_prev(page, PAGE)
                for inner in range(1, count):
                    desc = page + inner * DESCRIPTOR
                    self._set_slab(desc, BUSY)
                    self._set_next(desc, NULL)
                    self._set_prev(desc, PAGE)
                return page
            page = self._next(page)
        return 0

    # -- freeing

    def free(self, address: int) -> None:
        """ngx_slab_free_locked."""
        page = self._descriptor(address)
        slab = self._slab(page)
        kind = self._type(page)
        if kind == PAGE:
            self._free_pages(page, slab & ~PAGE_START)
            return
        if kind == SMALL:
            shift = slab & SHIFT_MASK
            self._free_small(page, address, shift)
            return
        shift = EXACT_SHIFT if kind == EXACT else slab & SHIFT_MASK
        offset = (address & (PAGE_SIZE - 1)) >> shift
        bit = 1 << (offset if kind == EXACT else offset + MAP_SHIFT)
        full = slab == BUSY if kind == EXACT else self._next(page) == NULL
        if full:
            self._relink(page, shift - MIN_SHIFT, kind)
        slab &= ~bit
        self._set_slab(page, slab)
        if (slab if kind == EXACT else slab & MAP_MASK) == 0:
            self._free_pages(page, 1)

    def _free_small(self, page: int, address: int, shift: int) -> None:
        chunk = (address & (PAGE_SIZE - 1)) >> shift
        bitmap = address & ~(PAGE_SIZE - 1)
        word_at = bitmap + (chunk // WORD_BITS) * 8
        if self._next(page) == NULL:
            self._relink(page, shift - MIN_SHIFT, SMALL)
        value = _U64.unpack_from(self._memory, word_at)[0] & ~(1 << (chunk % WORD_BITS))
        _U64.pack_into(self._memory, word_at, value)
        reserved = _bitmap_chunks(shift)
        first = reserved // WORD_BITS
        if _U64.unpack_from(self._memory, bitmap + first * 8)[0] & ~((1 << (reserved % WORD_BITS)) - 1):
            return
        words = (PAGE_SIZE >> shift) // WORD_BITS
        if any(_U64.unpack_from(self._memory, bitmap + word * 8)[0] for word in range(first + 1, words)):
            return
        self._free_pages(page, 1)

    def _free_pages(self, page: int, count: int) -> None:
        """ngx_slab_free_pages: the run goes back to the head of the free list, merged with a free run
        just after it and one just before it."""
        self._set_slab(page, count)
        tail = count - 1  # the run's last page, counted from its first
        if tail:
            inner = page + DESCRIPTOR
            self._memory[inner : inner + tail * DESCRIPTOR] = bytes(tail * DESCRIPTOR)
        if self._next(page) != NULL:
            self._take_out(page)
        after = page + count * DESCRIPTOR
        if after < self._end and self._type(after) == PAGE and self._next(after) != NULL:
            tail += self._slab(after)
            self._set_slab(page, self._slab(page) + self._slab(after))
            self._take_out(after)
            self._clear(after)
        if page > PAGES_AT:
            before = page - DESCRIPTOR
            if self._type(before) == PAGE:
                if self._slab(before) == 0:
                    before = self._prev(before) & ~TYPE_MASK
                if self._next(before) != NULL:
                    tail += self._slab(before)
                    self._set_slab(before, self._slab(before) + self._slab(page))
                    self._take_out(before)
                    self._clear(page)
                    page = before
        if tail:
            self._set_prev(page + tail * DESCRIPTOR, page)
        self._set_prev(page, FREE_HEAD)
        self._set_next(page, self._next(FREE_HEAD))
        self._set_prev(self._next(page), page)
        self._set_next(FREE_HEAD, page)

    def _take_out(self, desc: int) -> None:
        """Unlink a descriptor from the list it is in."""
        prev = self._prev(desc) & ~TYPE_MASK
        self._set_next(prev, self._next(desc))
        self._set_prev(self._next(desc), self._prev(desc))

    def _clear(self, desc: int) -> None:
        """A run's first page that became an inner page of a longer run."""
        self._set_slab(desc, 0)
        self._set_next(desc, NULL)
        self._set_prev(desc, PAGE)


def _bitmap_chunks(shift: int) -> int:
    """The chunks at the start of a page of 8-, 16- or 32-byte chunks that hold its bitmap."""
    return max(1, (PAGE_SIZE >> shift) // ((1 << shift) * 8))
