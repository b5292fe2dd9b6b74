"""h2's connection as hapair's server side drives it: h2's sans-I/O state machines (frames, HPACK,
flow control, stream states) with what nginx does otherwise, the frame that opens a request stream read
without h2's frame objects, and responses framed without them (docs/request-cost.md, "HTTP/2 streams"
and "HTTP/2 streams, third pass").

These classes extend h2's, which are Python classes: this module stays Python where connection.py and
the other modules of the package are compiled by mypyc (hapair/compiled.py), whose native classes
cannot extend a Python class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import h2.stream
from h2.connection import AllowedStreamIDs, ConnectionInputs, ConnectionState
from hyperframe.exceptions import InvalidPaddingError
from hyperframe.frame import Frame, HeadersFrame

from .decoding import IndexedDecoder
from .opening import (
    FRAME_HEADER,
    SEND_DATA,
    SEND_END_STREAM,
    SEND_HEADERS,
    SEND_INFORMATIONAL_HEADERS,
    move,
    read_frames,
)
from .stream import FRAME_HEAD

if TYPE_CHECKING:
    from collections.abc import Iterable

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
    (docs/request-cost.md, "HTTP/2 streams", says which check lives where). `ServerConnection` reads
    opening frames with this configuration's meaning."""
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
    forget a stream the client reset before hapair reads its request); the frames that open request
    streams are read here (`receive_data`), and responses framed here (`send_block`, `send_body`).
    (These are h2's internals: pyproject.toml pins h2's major version.)"""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config)
        decoder = IndexedDecoder()
        decoder.max_header_list_size = self.decoder.max_header_list_size
        self.decoder = decoder
        self.block_sizes: dict[int, int] = {}
        self.begun: dict[int, h2.stream.H2Stream] = {}
        self.forget_above = 0  # how many streams h2 may hold, open and closed, before it forgets closed ones
        self.stream_limit = self.inbound_window = self.outbound_window = 0
        self._note_settings()

    def _note_settings(self) -> None:
        """The settings in force that each new stream reads (`read_frames`, `inbound_stream`), noted
        when they change: when the client acknowledges ours and when we acknowledge its own (h2 makes
        pending values current only then). The client's preface holds its first SETTINGS, acknowledged
        before any stream opens: what hapair sets before the connection starts is noted then."""
        local = self.local_settings
        self.stream_limit = local.max_concurrent_streams
        self.inbound_window = local.initial_window_size
        self.outbound_window = self.remote_settings.initial_window_size

    def _local_settings_acked(self) -> dict[h2.settings.SettingCodes | int, h2.settings.ChangedSetting]:
        changes = super()._local_settings_acked()
        self._note_settings()
        return changes

    def _acknowledge_settings(self) -> list[Frame]:
        frames = super()._acknowledge_settings()
        self._note_settings()
        return frames

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

    # -- frames in

    def receive_data(self, data: bytes) -> list[h2.events.Event]:  # type: ignore[override]
        """h2's receive_data, with the frames that open request streams read by `read_frames`
        (opening.py, compiled) and every other frame given to h2's frame buffer and handlers in its
        turn. While h2's buffer holds something (the client's preface, a frame in pieces, a header
        block awaiting its CONTINUATION frames) everything goes through h2's path, as after a frame
        that leaves it so."""
        buffer = self.incoming_buffer
        if buffer._preamble_len or buffer._data or buffer._headers_buffer:
            return super().receive_data(data)
        events: list[h2.events.Event] = []
        try:
            read_frames(self, data, events)
        except h2.exceptions.ProtocolError as error:  # as h2's receive_data: its GOAWAY made, then raised
            self._terminate_connection(error.error_code)
            raise
        return events

    def through_h2(self, data: bytes, events: list[h2.events.Event]) -> None:
        """Frames through h2's buffer and handlers, as h2's receive_data takes them (for
        `read_frames`)."""
        buffer = self.incoming_buffer
        buffer.add_data(data)
        buffer.max_frame_size = self.max_inbound_frame_size
        try:
            for frame in buffer:
                events.extend(self._receive_frame(frame))
        except InvalidPaddingError as error:
            raise h2.exceptions.ProtocolError("Received frame with invalid padding.") from error

    def inbound_stream(self, stream_id: int) -> h2.stream.H2Stream:
        """h2's `_begin_new_stream` for a client's stream whose id the caller (`read_frames`) has
        checked."""
        stream = _UnmeasuredStream(
            stream_id,
            config=self.config,
            inbound_window_size=self.inbound_window,
            outbound_window_size=self.outbound_window,
        )
        stream.max_outbound_frame_size = self.max_outbound_frame_size
        self.streams[stream_id] = self.begun[stream_id] = stream
        self.highest_inbound_stream_id = stream_id
        return stream

    # -- frames out

    def _sending(self, input_: ConnectionInputs) -> None:
        """The connection's state machine for a frame sent: an open connection stays open; any other
        state is h2's to judge."""
        if self.state_machine.state is not ConnectionState.SERVER_OPEN:
            self.state_machine.process_input(input_)

    def send_block(
        self, stream: h2.stream.H2Stream, block: bytes, *, informational: bool, end_stream: bool
    ) -> int:
        """h2's send_headers for a header block encoded already (a response's head, or its trailers):
        the connection's and the stream's states change as h2's would, and the HEADERS frame (with
        CONTINUATION frames past the client's frame size) is written without h2's frame objects. The
        bytes the frames take."""
        self._sending(ConnectionInputs.SEND_HEADERS)
        machine = stream.state_machine
        move(machine, SEND_INFORMATIONAL_HEADERS if informational else SEND_HEADERS)
        if end_stream:
            move(machine, SEND_END_STREAM)
        stream_id = stream.stream_id
        size = self.max_outbound_frame_size
        first = block[:size]
        flags = _END_STREAM if end_stream else 0
        out = self._data_to_send
        if len(block) <= size:
            out += FRAME_HEADER.pack(
                len(first) >> 8, len(first) & 0xFF, _HEADERS, flags | _END_HEADERS, stream_id
            )
            out += block
            return FRAME_HEAD + len(block)
        out += FRAME_HEADER.pack(len(first) >> 8, len(first) & 0xFF, _HEADERS, flags, stream_id)
        out += first
        frames = 1
        for start in range(size, len(block), size):
            piece = block[start : start + size]
            last = _END_HEADERS if start + size >= len(block) else 0
            out += FRAME_HEADER.pack(len(piece) >> 8, len(piece) & 0xFF, _CONTINUATION, last, stream_id)
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
        self._sending(ConnectionInputs.SEND_DATA)
        machine = stream.state_machine
        move(machine, SEND_DATA)
        if end_stream:
            move(machine, SEND_END_STREAM)
        stream.outbound_flow_control_window -= length
        self.outbound_flow_control_window -= length
        out = self._data_to_send
        out += FRAME_HEADER.pack(
            length >> 8, length & 0xFF, _DATA, _END_STREAM if end_stream else 0, stream.stream_id
        )
        out += data
