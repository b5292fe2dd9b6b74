"""h2's connection as hapair's server side drives it: h2's sans-I/O state machines (frames, HPACK,
flow control, stream states) with what nginx does otherwise, and responses framed without h2's frame
objects (docs/request-cost.md, "HTTP/2 streams").

These classes extend h2's, which are Python classes: this module stays Python where connection.py and
the other modules of the package are compiled by mypyc (hapair/compiled.py), whose native classes
cannot extend a Python class.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.stream
from h2.connection import AllowedStreamIDs, ConnectionInputs
from h2.stream import StreamInputs
from hyperframe.frame import Frame, HeadersFrame

from .decoding import IndexedDecoder
from .stream import FRAME_HEAD

if TYPE_CHECKING:
    from collections.abc import Iterable

_FRAME_HEAD = struct.Struct(">HBBBL")  # a frame's length (24 bits), type, flags and stream
_DATA, _HEADERS, _CONTINUATION = 0x0, 0x1, 0x9
_END_STREAM, _END_HEADERS = 0x1, 0x4


class _UnmeasuredStream(h2.stream.H2Stream):
    """h2's stream without its check of the body against Content-Length: nginx answers a body longer or
    shorter than announced, or an announced length that is no number, with 400 on that stream; h2 would
    end the whole connection."""

    def _initialize_content_length(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        return


def server_configuration() -> h2.config.H2Configuration:
    """h2 as hapair's server side uses it: header names and values kept as bytes, and h2's own header
    validation and normalization off, hapair's reading of the header list applying nginx's rules
    (docs/request-cost.md, "HTTP/2 streams", says which check lives where)."""
    return h2.config.H2Configuration(
        client_side=False,
        header_encoding=None,
        validate_inbound_headers=False,
        normalize_inbound_headers=False,
        validate_outbound_headers=False,
        normalize_outbound_headers=False,
    )


class ServerConnection(h2.connection.H2Connection):
    """h2's connection, with what nginx does otherwise: a stream beyond SETTINGS_MAX_CONCURRENT_STREAMS
    is left to hapair to refuse, as nginx does (h2 would end the whole connection); streams are
    `_UnmeasuredStream`s; its HPACK decoder an `IndexedDecoder`; the size of each request's header block
    is kept, as nginx's `$request_length` counts it, and each new stream until hapair takes it (h2 may
    forget a stream the client reset before hapair reads its request); responses are framed here
    (`send_block`, `send_body`). (These are h2's internals: pyproject.toml pins h2's major version.)"""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config)
        decoder = IndexedDecoder()
        decoder.max_header_list_size = self.decoder.max_header_list_size
        self.decoder = decoder
        self.block_sizes: dict[int, int] = {}
        self.begun: dict[int, h2.stream.H2Stream] = {}
        self.forget_above = 0  # how many streams h2 may hold, open and closed, before it forgets closed ones

    @property
    def open_inbound_streams(self) -> int:
        if len(self.streams) > self.forget_above:
            super().open_inbound_streams  # noqa: B018 -- h2 forgets its closed streams when it counts them
        return 0

    def _begin_new_stream(self, stream_id: int, allowed_ids: AllowedStreamIDs) -> h2.stream.H2Stream:
        stream = super()._begin_new_stream(stream_id, allowed_ids)
        stream.__class__ = _UnmeasuredStream
        self.begun[stream_id] = stream
        return stream

    def _receive_headers_frame(self, frame: HeadersFrame) -> tuple[list[Frame], list[h2.events.Event]]:
        self.block_sizes[frame.stream_id] = len(frame.data)
        return super()._receive_headers_frame(frame)

    def send_block(
        self, stream: h2.stream.H2Stream, block: bytes, *, informational: bool, end_stream: bool
    ) -> int:
        """h2's send_headers for a header block encoded already (a response's head, or its trailers):
        the connection's and the stream's states change as h2's would, and the HEADERS frame (with
        CONTINUATION frames past the client's frame size) is written without h2's frame objects. The
        bytes the frames take."""
        self.state_machine.process_input(ConnectionInputs.SEND_HEADERS)
        machine = stream.state_machine
        machine.process_input(
            StreamInputs.SEND_INFORMATIONAL_HEADERS if informational else StreamInputs.SEND_HEADERS
        )
        if end_stream:
            machine.process_input(StreamInputs.SEND_END_STREAM)
        stream_id = stream.stream_id
        size = self.max_outbound_frame_size
        first = block[:size]
        flags = _END_STREAM if end_stream else 0
        out = self._data_to_send
        if len(block) <= size:
            out += _FRAME_HEAD.pack(
                len(first) >> 8, len(first) & 0xFF, _HEADERS, flags | _END_HEADERS, stream_id
            )
            out += block
            return FRAME_HEAD + len(block)
        out += _FRAME_HEAD.pack(len(first) >> 8, len(first) & 0xFF, _HEADERS, flags, stream_id)
        out += first
        frames = 1
        for start in range(size, len(block), size):
            piece = block[start : start + size]
            last = _END_HEADERS if start + size >= len(block) else 0
            out += _FRAME_HEAD.pack(len(piece) >> 8, len(piece) & 0xFF, _CONTINUATION, last, stream_id)
            out += piece
            frames += 1
        return frames * FRAME_HEAD + len(block)

    def send_body(self, stream: h2.stream.H2Stream, data: bytes, *, end_stream: bool) -> None:
        """h2's send_data, its windows and states changed as h2's are, the DATA frame written without
        h2's frame object."""
        length = len(data)
        if length > self.outbound_flow_control_window or length > stream.outbound_flow_control_window:
            raise h2.exceptions.FlowControlError(
                f"Cannot send {length} bytes, flow control window is too small"
            )
        if length > self.max_outbound_frame_size:
            raise h2.exceptions.FrameTooLargeError(f"Cannot send frame size {length}")
        self.state_machine.process_input(ConnectionInputs.SEND_DATA)
        machine = stream.state_machine
        machine.process_input(StreamInputs.SEND_DATA)
        if end_stream:
            machine.process_input(StreamInputs.SEND_END_STREAM)
        stream.outbound_flow_control_window -= length
        self.outbound_flow_control_window -= length
        out = self._data_to_send
        out += _FRAME_HEAD.pack(
            length >> 8, length & 0xFF, _DATA, _END_STREAM if end_stream else 0, stream.stream_id
        )
        out += data
