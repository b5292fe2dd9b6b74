"""The frames that open request streams, read for h2/machine.py's `ServerConnection` in compiled code
(hapair/compiled.py): the loop over a read's frames, the checks that pick the HEADERS frames opening a
stream (the others go through h2's path, `ServerConnection.through_h2`), and the stream state machines'
moves by h2's own transitions (`move`), which the response's frames use too.

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
from h2.connection import ConnectionState, _decode_headers
from h2.stream import H2StreamStateMachine, StreamInputs, StreamState

from .stream import FRAME_HEAD

if TYPE_CHECKING:
    from .machine import ServerConnection

FRAME_HEADER: Final = struct.Struct(">HBBBL")  # a frame's length (24 bits), type, flags and stream
HEADERS: Final = 0x1
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
