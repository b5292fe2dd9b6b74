"""The frames hapair reads and writes for h2/machine.py's `ServerConnection` in compiled code
(hapair/compiled.py), without h2's frame objects: the frames that open request streams (`read_frames`:
the loop over a read's frames, the checks that pick the HEADERS frames opening a stream, the others
given to h2's path, `ServerConnection.through_h2`), and the responses' HEADERS, CONTINUATION and DATA
frames (`send_block`, `send_body`), with the connection's and the streams' states moved as h2's are
(`move`: h2's own transitions).

The objects are h2's (Python): this code reads and sets their attributes and calls their methods as
h2's own code does; machine.py says what is done otherwise than in h2 and why.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import h2.events
import h2.exceptions
import h2.stream
from h2.connection import ConnectionInputs, ConnectionState, _decode_headers
from h2.stream import H2StreamStateMachine, StreamInputs, StreamState

from .stream import FRAME_HEAD

if TYPE_CHECKING:
    from h2.stream import H2Stream

    from .machine import ServerConnection

FRAME_HEADER: Final = struct.Struct(">HBBBL")  # a frame's length (24 bits), type, flags and stream
DATA: Final = 0x0
HEADERS: Final = 0x1
CONTINUATION: Final = 0x9
END_STREAM: Final = 0x1
END_HEADERS: Final = 0x4
WHOLE_REQUEST: Final = END_HEADERS | END_STREAM  # a whole header block, no padding, no priority
LARGEST_ID: Final = 0x7FFFFFFF  # above, the reserved bit is set: left to h2's path, which masks it
_SERVER_OPEN: Final = ConnectionState.SERVER_OPEN

_Effect = Callable[[H2StreamStateMachine, StreamState], list[h2.events.Event]]


class Moves:
    """h2's stream transitions for one input, by state (None: h2 refuses the input in that state)."""

    __slots__ = ("by_state", "input")

    def __init__(self, input_: StreamInputs) -> None:
        self.input = input_
        self.by_state: list[tuple[_Effect | None, StreamState] | None] = [
            h2.stream._transitions.get((state, input_)) for state in StreamState
        ]


RECV_HEADERS: Final = Moves(StreamInputs.RECV_HEADERS)
RECV_END_STREAM: Final = Moves(StreamInputs.RECV_END_STREAM)
SEND_HEADERS: Final = Moves(StreamInputs.SEND_HEADERS)
SEND_INFORMATIONAL_HEADERS: Final = Moves(StreamInputs.SEND_INFORMATIONAL_HEADERS)
SEND_DATA: Final = Moves(StreamInputs.SEND_DATA)
SEND_END_STREAM: Final = Moves(StreamInputs.SEND_END_STREAM)


def move(machine: H2StreamStateMachine, moves: Moves) -> list[h2.events.Event]:
    """h2's `process_input` of a stream's state machine, its transition found by the state alone in
    `moves` (one input's) where h2 hashes the (state, input) pair, two enums of which one hashes in
    Python: the same transitions, side effects and errors."""
    previous = machine.state
    found = moves.by_state[previous]
    if found is None:
        return machine.process_input(moves.input)  # h2 refuses it, closing the stream
    effect, target = found
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


def read_frames(conn: ServerConnection, data: bytes, events: list[h2.events.Event]) -> None:
    """The frames of `data` in order: those opening a request stream read here, the others given to
    h2's path, and everything from a frame on when h2's buffer is left holding an open header block."""
    end = len(data)
    at = 0
    while end - at >= FRAME_HEAD:
        high, low, kind, flags, stream_id = FRAME_HEADER.unpack_from(data, at)
        start = at + FRAME_HEAD
        stop = start + (high << 8 | low)
        if stop > end:
            break
        if (
            kind == HEADERS
            and flags in (WHOLE_REQUEST, END_HEADERS)
            and stream_id & 1
            and conn.highest_inbound_stream_id < stream_id <= LARGEST_ID
            and stop - start <= conn.max_inbound_frame_size
            and conn.state_machine.state is _SERVER_OPEN
        ):
            events += _opening_frame(conn, data[start:stop], stream_id, flags == WHOLE_REQUEST)
        else:
            conn.through_h2(data[at:stop], events)
        at = stop
        if conn.incoming_buffer._headers_buffer:
            break
    if at < end:
        conn.through_h2(data[at:], events)


def _opening_frame(
    conn: ServerConnection, block: bytes, stream_id: int, end_stream: bool
) -> list[h2.events.Event]:
    """A HEADERS frame opening stream `stream_id` (the connection open, the id odd and above the
    highest, the block whole in the frame, neither padding nor priority) as h2's
    `_receive_headers_frame` and the stream's `receive_headers` take it, without the frame object,
    the trace log's repr of it, and the connection's state machine, which leaves an open connection
    open: the streams' limit, the block's decoding and its limits, an informational head refused,
    the stream's state machine moved (idle to open, half closed with END_STREAM) and its events."""
    limit = conn.stream_limit
    value = conn.open_inbound_streams
    if value + 1 > limit:
        raise h2.exceptions.TooManyStreamsError(f"Max inbound streams is {limit}, {value} open")
    conn.block_sizes[stream_id] = len(block)
    decoded = _decode_headers(conn.decoder, block)
    headers = decoded if isinstance(decoded, list) else list(decoded)
    stream = conn.inbound_stream(stream_id)
    if _informational(headers):
        return stream.receive_headers(headers, end_stream, None)[1]  # refused by h2's own path
    machine = stream.state_machine
    events = move(machine, RECV_HEADERS)
    request = events[0]
    assert isinstance(request, h2.events.RequestReceived)
    request.headers = headers
    if end_stream:
        ended = move(machine, RECV_END_STREAM)
        request.stream_ended = ended[0]  # type: ignore[assignment]
        events += ended
    return events


def _informational(headers: list[tuple[bytes, bytes]]) -> bool:
    """h2's is_informational_response: a `:status` of 1xx among the leading pseudo-headers."""
    for name, value in headers:
        if not name.startswith(b":"):
            return False
        if name == b":status":
            return value.startswith(b"1")
    return False


def _sending(conn: ServerConnection, input_: ConnectionInputs) -> None:
    """The connection's state machine for a frame sent: an open connection stays open; any other
    state is h2's to judge."""
    if conn.state_machine.state is not _SERVER_OPEN:
        conn.state_machine.process_input(input_)


def send_block(
    conn: ServerConnection, stream: H2Stream, block: bytes, *, informational: bool, end_stream: bool
) -> int:
    """h2's send_headers for a header block encoded already (a response's head, or its trailers):
    the connection's and the stream's states change as h2's would, and the HEADERS frame (with
    CONTINUATION frames past the client's frame size) is written without h2's frame objects. The
    bytes the frames take."""
    _sending(conn, ConnectionInputs.SEND_HEADERS)
    machine = stream.state_machine
    move(machine, SEND_INFORMATIONAL_HEADERS if informational else SEND_HEADERS)
    if end_stream:
        move(machine, SEND_END_STREAM)
    stream_id = stream.stream_id
    size = conn.max_outbound_frame_size
    length = len(block)
    flags = END_STREAM if end_stream else 0
    out = conn._data_to_send
    if length <= size:
        out += FRAME_HEADER.pack(length >> 8, length & 0xFF, HEADERS, flags | END_HEADERS, stream_id)
        out += block
        return FRAME_HEAD + length
    out += FRAME_HEADER.pack(size >> 8, size & 0xFF, HEADERS, flags, stream_id)
    out += block[:size]
    frames = 1
    for start in range(size, length, size):
        piece = block[start : start + size]
        last = END_HEADERS if start + size >= length else 0
        out += FRAME_HEADER.pack(len(piece) >> 8, len(piece) & 0xFF, CONTINUATION, last, stream_id)
        out += piece
        frames += 1
    return frames * FRAME_HEAD + length


def send_body(conn: ServerConnection, stream: H2Stream, data: bytes, *, end_stream: bool) -> None:
    """h2's send_data, its windows and states changed as h2's are, the DATA frame written without
    h2's frame object."""
    length = len(data)
    if length > conn.outbound_flow_control_window or length > stream.outbound_flow_control_window:
        raise h2.exceptions.FlowControlError(f"Cannot send {length} bytes, flow control window is too small")
    if length > conn.max_outbound_frame_size:
        raise h2.exceptions.FrameTooLargeError(f"Cannot send frame size {length}")
    _sending(conn, ConnectionInputs.SEND_DATA)
    machine = stream.state_machine
    move(machine, SEND_DATA)
    if end_stream:
        move(machine, SEND_END_STREAM)
    stream.outbound_flow_control_window -= length
    conn.outbound_flow_control_window -= length
    out = conn._data_to_send
    out += FRAME_HEADER.pack(
        length >> 8, length & 0xFF, DATA, END_STREAM if end_stream else 0, stream.stream_id
    )
    out += data
