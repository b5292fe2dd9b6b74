"""h2's connection as hapair's server side drives it: h2's sans-I/O state machines (frames, HPACK,
flow control, stream states) with what nginx does otherwise, the frame that opens a request stream read
without h2's frame objects, and responses framed without them (docs/request-cost.md, "HTTP/2 streams"
and "HTTP/2 streams, third pass").

These classes extend h2's, which are Python classes: this module stays Python where connection.py and
the other modules of the package are compiled by mypyc (hapair/compiled.py), whose native classes
cannot extend a Python class.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.stream
from h2.connection import AllowedStreamIDs, ConnectionInputs, ConnectionState, _decode_headers
from h2.stream import H2StreamStateMachine, StreamInputs, StreamState
from hyperframe.exceptions import InvalidPaddingError
from hyperframe.frame import Frame, HeadersFrame

from .decoding import IndexedDecoder
from .stream import FRAME_HEAD

if TYPE_CHECKING:
    from collections.abc import Iterable

_FRAME_HEAD = struct.Struct(">HBBBL")  # a frame's length (24 bits), type, flags and stream
_DATA, _HEADERS, _CONTINUATION = 0x0, 0x1, 0x9
_END_STREAM, _END_HEADERS = 0x1, 0x4
_WHOLE_REQUEST = _END_HEADERS | _END_STREAM
_OPENING_FLAGS = (_END_HEADERS, _WHOLE_REQUEST)  # a whole header block, no padding, no priority
_LARGEST_ID = 0x7FFFFFFF  # above, the reserved bit is set: left to h2's path, which masks it

_Effect = Callable[[H2StreamStateMachine, StreamState], list[h2.events.Event]]


class _Moves:
    """h2's stream transitions for one input, by state (None: h2 refuses the input in that state)."""

    __slots__ = ("by_state", "input")

    def __init__(self, input_: StreamInputs) -> None:
        self.input = input_
        self.by_state: list[tuple[_Effect | None, StreamState] | None] = [
            h2.stream._transitions.get((state, input_)) for state in StreamState
        ]


_RECV_HEADERS = _Moves(StreamInputs.RECV_HEADERS)
_RECV_END_STREAM = _Moves(StreamInputs.RECV_END_STREAM)
_SEND_HEADERS = _Moves(StreamInputs.SEND_HEADERS)
_SEND_INFORMATIONAL_HEADERS = _Moves(StreamInputs.SEND_INFORMATIONAL_HEADERS)
_SEND_DATA = _Moves(StreamInputs.SEND_DATA)
_SEND_END_STREAM = _Moves(StreamInputs.SEND_END_STREAM)


def _move(machine: H2StreamStateMachine, moves: _Moves) -> list[h2.events.Event]:
    """h2's `process_input` of a stream's state machine, its transition found by the state alone in
    `moves` (one input's) where h2 hashes the (state, input) pair, two enums of which one hashes in
    Python: the same transitions, side effects and errors."""
    move = moves.by_state[machine.state]
    if move is None:
        return machine.process_input(moves.input)  # h2 refuses it, closing the stream
    effect, target = move
    previous = machine.state
    machine.state = target
    if effect is None:
        return []
    try:
        return effect(machine, previous)
    except h2.exceptions.ProtocolError:
        machine.state = StreamState.CLOSED
        raise
    except AssertionError as error:
        machine.state = StreamState.CLOSED
        raise h2.exceptions.ProtocolError(error) from error


def _informational(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """h2's is_informational_response: a `:status` of 1xx among the leading pseudo-headers."""
    for name, value in headers:
        if name[:1] != b":":
            return False
        if name == b":status":
            return value[:1] == b"1"
    return False


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
        """h2's receive_data, with the frames that open request streams read here (`_opening_frame`)
        and every other frame given to h2's frame buffer and handlers in its turn. While h2's buffer
        holds something (the client's preface, a frame in pieces, a header block awaiting its
        CONTINUATION frames) everything goes through h2's path, as after a frame that leaves it so."""
        buffer = self.incoming_buffer
        if buffer._preamble_len or buffer._data or buffer._headers_buffer:
            return super().receive_data(data)
        events: list[h2.events.Event] = []
        try:
            self._read_frames(data, events)
        except h2.exceptions.ProtocolError as error:  # as h2's receive_data: its GOAWAY made, then raised
            self._terminate_connection(error.error_code)
            raise
        return events

    def _read_frames(self, data: bytes, events: list[h2.events.Event]) -> None:
        buffer = self.incoming_buffer
        end = len(data)
        at = 0
        while end - at >= FRAME_HEAD:
            high, low, kind, flags, stream_id = _FRAME_HEAD.unpack_from(data, at)
            start = at + FRAME_HEAD
            stop = start + (high << 8 | low)
            if stop > end:
                break
            if (
                kind == _HEADERS
                and flags in _OPENING_FLAGS
                and stream_id & 1
                and self.highest_inbound_stream_id < stream_id <= _LARGEST_ID
                and stop - start <= self.max_inbound_frame_size
                and self.state_machine.state is ConnectionState.SERVER_OPEN
            ):
                events += self._opening_frame(data[start:stop], stream_id, flags == _WHOLE_REQUEST)
            else:
                self._through_h2(data[at:stop], events)
            at = stop
            if buffer._headers_buffer:
                break
        if at < end:
            self._through_h2(data[at:], events)

    def _through_h2(self, data: bytes, events: list[h2.events.Event]) -> None:
        """Frames through h2's buffer and handlers, as h2's receive_data takes them."""
        buffer = self.incoming_buffer
        buffer.add_data(data)
        buffer.max_frame_size = self.max_inbound_frame_size
        try:
            for frame in buffer:
                events.extend(self._receive_frame(frame))
        except InvalidPaddingError as error:
            raise h2.exceptions.ProtocolError("Received frame with invalid padding.") from error

    def _opening_frame(self, block: bytes, stream_id: int, end_stream: bool) -> list[h2.events.Event]:
        """A HEADERS frame opening stream `stream_id` (the connection open, the id odd and above the
        highest, the block whole in the frame, neither padding nor priority) as h2's
        `_receive_headers_frame` and the stream's `receive_headers` take it, without the frame object,
        the trace log's repr of it, and the connection's state machine, which leaves an open connection
        open: the streams' limit, the block's decoding and its limits, an informational head refused,
        the stream's state machine moved (idle to open, half closed with END_STREAM) and its events."""
        limit = self.local_settings.max_concurrent_streams
        value = self.open_inbound_streams
        if value + 1 > limit:
            raise h2.exceptions.TooManyStreamsError(f"Max inbound streams is {limit}, {value} open")
        self.block_sizes[stream_id] = len(block)
        headers = _decode_headers(self.decoder, block)
        stream = self._inbound_stream(stream_id)
        if _informational(headers):
            return stream.receive_headers(headers, end_stream, None)[1]  # refused by h2's own path
        machine = stream.state_machine
        events = _move(machine, _RECV_HEADERS)
        request = events[0]
        assert isinstance(request, h2.events.RequestReceived)
        request.headers = headers if isinstance(headers, list) else list(headers)
        if end_stream:
            ended = _move(machine, _RECV_END_STREAM)
            request.stream_ended = ended[0]  # type: ignore[assignment]
            events += ended
        return events

    def _inbound_stream(self, stream_id: int) -> h2.stream.H2Stream:
        """h2's `_begin_new_stream` for a client's stream whose id the caller has checked."""
        stream = _UnmeasuredStream(
            stream_id,
            config=self.config,
            inbound_window_size=self.local_settings.initial_window_size,
            outbound_window_size=self.remote_settings.initial_window_size,
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
        _move(machine, _SEND_INFORMATIONAL_HEADERS if informational else _SEND_HEADERS)
        if end_stream:
            _move(machine, _SEND_END_STREAM)
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
        self._sending(ConnectionInputs.SEND_DATA)
        machine = stream.state_machine
        _move(machine, _SEND_DATA)
        if end_stream:
            _move(machine, _SEND_END_STREAM)
        stream.outbound_flow_control_window -= length
        self.outbound_flow_control_window -= length
        out = self._data_to_send
        out += _FRAME_HEAD.pack(
            length >> 8, length & 0xFF, _DATA, _END_STREAM if end_stream else 0, stream.stream_id
        )
        out += data
