"""Request header blocks read by hapair's HPACK decoder (proxy/http/h2/decoding.py): a block that changes
no table (short indexed fields, short literals without indexing) gives what hpack's own decoder gives,
the other blocks go to hpack's; the limits are hpack's (an index past the tables, a list past
max_header_list_size, an invalid Huffman string)."""

from __future__ import annotations

import pytest
from hpack import (
    Decoder,
    Encoder,
    HPACKDecodingError,
    InvalidTableIndex,
    NeverIndexedHeaderTuple,
    OversizedHeaderListError,
)

from hapair.proxy.http.h2.decoding import IndexedDecoder

REQUEST = [
    (b":method", b"GET"),
    (b":scheme", b"https"),
    (b":path", b"/ok"),
    (b":authority", b"lb.example"),
    (b"user-agent", b"h2load"),
]


def blocks(count: int) -> list[bytes]:
    """The same request `count` times from one encoder: literals first, then indexed fields alone."""
    encoder = Encoder()
    return [encoder.encode(REQUEST) for _ in range(count)]


def test_a_repeated_request_is_read_as_hpack_reads_it() -> None:
    first, again = blocks(2)
    assert all(byte & 0x80 for byte in again) and not all(byte & 0x80 for byte in first)
    ours, theirs = IndexedDecoder(), Decoder()
    for block in (first, again, again):
        assert [tuple(field) for field in ours.decode(block, raw=True)] == REQUEST
        assert [tuple(field) for field in theirs.decode(block, raw=True)] == REQUEST


# h2load's blocks for `h2load -c1 -m10 -n30 https://127.0.0.1:28443/ok` (`:path` a literal without
# indexing each time; the first block adds :authority and user-agent to the table)
H2LOAD_FIRST = bytes.fromhex("04032f6f6b87418b089d5c0b8170dc13cd34cf827a8f9c541c722954d3a5358980aed89707")
H2LOAD_AGAIN = bytes.fromhex("04032f6f6b87bf82be")
H2LOAD_REQUEST = [
    (b":path", b"/ok"),
    (b":scheme", b"https"),
    (b":authority", b"127.0.0.1:28443"),
    (b":method", b"GET"),
    (b"user-agent", b"h2load nghttp2/1.52.0"),
]


def test_h2loads_requests_are_read_as_hpack_reads_them() -> None:
    ours, theirs = IndexedDecoder(), Decoder()
    for block in (H2LOAD_FIRST, H2LOAD_AGAIN, H2LOAD_AGAIN):
        assert [tuple(field) for field in ours.decode(block, raw=True)] == H2LOAD_REQUEST
        assert [tuple(field) for field in theirs.decode(block, raw=True)] == H2LOAD_REQUEST


def test_a_huffman_coded_literal_without_indexing() -> None:
    block = b"\x82\x04\x83" + bytes.fromhex("60fd7f")  # :path "/ok", Huffman-coded
    assert IndexedDecoder().decode(block, raw=True) == [(b":method", b"GET"), (b":path", b"/ok")]
    assert [tuple(field) for field in Decoder().decode(block, raw=True)] == [
        (b":method", b"GET"),
        (b":path", b"/ok"),
    ]


def test_an_invalid_huffman_string_is_refused() -> None:
    block = b"\x04\x81\xff"  # all ones past the padding: EOS, which RFC 7541 forbids
    for decoder in (IndexedDecoder(), Decoder()):
        with pytest.raises(HPACKDecodingError):
            decoder.decode(block, raw=True)


def test_a_never_indexed_field_stays_one() -> None:
    block = Encoder().encode([(b":method", b"GET"), NeverIndexedHeaderTuple(b"authorization", b"secret")])
    fields = list(IndexedDecoder().decode(block, raw=True))
    assert fields == [(b":method", b"GET"), (b"authorization", b"secret")]
    assert isinstance(fields[1], NeverIndexedHeaderTuple)


def test_an_index_past_the_tables_is_refused() -> None:
    with pytest.raises(InvalidTableIndex):
        IndexedDecoder().decode(b"\x82\xbe", raw=True)  # 62: the first dynamic entry, none yet


def test_a_list_past_the_limit_is_refused_as_hpack_refuses_it() -> None:
    first, again = blocks(2)
    limit = sum(32 + len(name) + len(value) for name, value in REQUEST) - 1
    for decoder in (IndexedDecoder(), Decoder()):
        decoder.max_header_list_size = limit + 1
        decoder.decode(first, raw=True)
        decoder.max_header_list_size = limit
        with pytest.raises(OversizedHeaderListError):
            decoder.decode(again, raw=True)


def test_an_indexed_bomb_stops_at_the_limit() -> None:
    """A block naming a 4 KB entry of the dynamic table a thousand times (4 MB from 1,000 bytes)."""
    encoder = Encoder()
    first = encoder.encode([(b"x-big", b"v" * 4000)])
    decoder = IndexedDecoder()
    decoder.decode(first, raw=True)
    bomb = bytes([0x80 | 62]) * 1000
    decoder.max_header_list_size = 10 * 4037
    with pytest.raises(OversizedHeaderListError):
        decoder.decode(bomb, raw=True)


def test_a_block_read_again_is_held_to_the_limit_again() -> None:
    first, again = blocks(2)
    decoder = IndexedDecoder()
    decoder.decode(first, raw=True)
    decoder.decode(again, raw=True)
    decoder.max_header_list_size = sum(32 + len(name) + len(value) for name, value in REQUEST) - 1
    with pytest.raises(OversizedHeaderListError):
        decoder.decode(again, raw=True)


def test_a_block_read_again_after_the_table_changed_means_what_hpack_reads() -> None:
    """The same bytes name other fields once a block has added an entry: what was kept is forgotten."""
    encoder = Encoder()
    first, again = encoder.encode(REQUEST), encoder.encode(REQUEST)
    changing = encoder.encode([(b"x-new", b"1")])  # the new entry is 62: the others move down
    ours, theirs = IndexedDecoder(), Decoder()
    for block in (first, again, again, changing, again):
        assert [tuple(field) for field in ours.decode(block, raw=True)] == [
            tuple(field) for field in theirs.decode(block, raw=True)
        ]
    assert [tuple(field) for field in ours.decode(again, raw=True)] != REQUEST


def test_each_caller_gets_a_list_of_its_own() -> None:
    first, again = blocks(2)
    decoder = IndexedDecoder()
    decoder.decode(first, raw=True)
    read = decoder.decode(again, raw=True)
    assert isinstance(read, list)
    read.clear()
    assert [tuple(field) for field in decoder.decode(again, raw=True)] == REQUEST
