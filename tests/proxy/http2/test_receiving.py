"""Frames read by hapair's subclass of h2's connection (proxy/http/h2/machine.py `receive_data`): the
HEADERS frames that open request streams are read without h2's frame objects, every other frame goes
through h2's buffer and handlers. The same bytes give the same events, stream states, frames to send and
errors as h2's own receive_data on the same class."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
import pytest
from hyperframe.frame import ContinuationFrame, DataFrame, HeadersFrame

from hapair.proxy.http.h2.machine import ServerConnection, server_configuration

REQUEST = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/ok"), (b":authority", b"lb")]
SETTINGS = {
    h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 128,
    h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 65536,
}
POST = [(b":method", b"POST"), (b":scheme", b"https"), (b":path", b"/up"), (b":authority", b"lb")]


class _Client:
    """h2 as a client, writing the bytes both servers read."""

    def __init__(self) -> None:
        self.h2 = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        self.h2.initiate_connection()

    def requests(self, first: int, count: int, headers: list[tuple[bytes, bytes]] = REQUEST) -> bytes:
        for stream_id in range(first, first + 2 * count, 2):
            self.h2.send_headers(stream_id, headers, end_stream=True)
        return self.h2.data_to_send()


def _servers() -> tuple[ServerConnection, ServerConnection]:
    """hapair's reading, and h2's own receive_data on the same class. (Until a first stream opens the
    connection, h2's state machine has it idle, and every frame goes through h2's path.)"""
    ours, theirs = ServerConnection(server_configuration()), ServerConnection(server_configuration())
    for server in (ours, theirs):
        server.local_settings = h2.settings.Settings(client=False, initial_values=SETTINGS)  # as hapair's
        server.initiate_connection()
        server.data_to_send()
    return ours, theirs


def _read(server: ServerConnection, data: bytes, *, as_h2: bool) -> list[str]:
    read = h2.connection.H2Connection.receive_data if as_h2 else ServerConnection.receive_data
    events = read(server, data)
    return [repr(event) for event in events]


def _same(ours: ServerConnection, theirs: ServerConnection, *reads: bytes) -> list[str]:
    """Each read by both, with the same outcome; the events."""
    read: list[str] = []
    for data in reads:
        events = _read(ours, data, as_h2=False)
        assert events == _read(theirs, data, as_h2=True)
        assert ours.data_to_send() == theirs.data_to_send()
        read += events
    assert _streams(ours) == _streams(theirs)
    assert ours.highest_inbound_stream_id == theirs.highest_inbound_stream_id
    assert ours.block_sizes == theirs.block_sizes
    assert ours.begun.keys() == theirs.begun.keys()
    return read


def _streams(server: ServerConnection) -> dict[int, tuple[type, object, int, int]]:
    return {
        key: (
            type(stream),
            stream.state_machine.state,
            stream.inbound_flow_control_window,
            stream.outbound_flow_control_window,
        )
        for key, stream in server.streams.items()
    }


def _refused(ours: ServerConnection, theirs: ServerConnection, data: bytes) -> str:
    """`data` refused alike by both (the same error, the same GOAWAY); the error's text."""
    with pytest.raises(h2.exceptions.ProtocolError) as mine:
        ours.receive_data(data)
    with pytest.raises(h2.exceptions.ProtocolError) as h2s:
        h2.connection.H2Connection.receive_data(theirs, data)
    assert type(mine.value) is type(h2s.value)
    assert str(mine.value) == str(h2s.value)
    assert ours.data_to_send() == theirs.data_to_send()
    return str(mine.value)


def _frame(frame: HeadersFrame | ContinuationFrame | DataFrame, data: bytes, *flags: str) -> bytes:
    frame.data = data
    for flag in flags:
        frame.flags.add(flag)
    return frame.serialize()


def test_requests_a_read_are_read_as_h2_reads_them() -> None:
    client = _Client()
    ours, theirs = _servers()
    preface = client.h2.data_to_send()
    events = _same(ours, theirs, preface, client.requests(1, 10), client.requests(21, 10))
    assert sum(event.startswith("<RequestReceived") for event in events) == 20
    assert sum(event.startswith("<StreamEnded") for event in events) == 20


def test_a_request_with_a_body_and_frames_of_other_kinds() -> None:
    client = _Client()
    ours, theirs = _servers()
    client.h2.send_headers(1, POST)
    client.h2.send_data(1, b"x" * 100)
    client.h2.ping(b"12345678")
    client.h2.increment_flow_control_window(1000)
    client.h2.send_data(1, b"y", end_stream=True)
    data = client.h2.data_to_send()
    events = _same(ours, theirs, data)
    assert [event.split(" ")[0] for event in events if "stream_id:1" in event or "Ping" in event] == [
        "<RequestReceived",
        "<DataReceived",
        "<PingReceived",
        "<DataReceived",
        "<StreamEnded",
    ]


def test_a_header_block_in_continuation_frames_and_a_request_after_it() -> None:
    client = _Client()
    ours, theirs = _servers()
    block = client.h2.encoder.encode(REQUEST)
    split = _frame(HeadersFrame(1), block[:3], "END_STREAM") + _frame(
        ContinuationFrame(1), block[3:], "END_HEADERS"
    )
    after = client.h2.encoder.encode(REQUEST)
    whole = _frame(HeadersFrame(3), after, "END_STREAM", "END_HEADERS")
    events = _same(ours, theirs, client.h2.data_to_send() + split + whole)
    assert sum(event.startswith("<RequestReceived") for event in events) == 2


def test_frames_in_pieces_padding_and_priority() -> None:
    client = _Client()
    ours, theirs = _servers()
    padded = HeadersFrame(1)
    padded.pad_length = 4
    priority = HeadersFrame(3)
    priority.depends_on, priority.stream_weight = 1, 15
    data = (
        client.h2.data_to_send()
        + _frame(padded, client.h2.encoder.encode(REQUEST), "PADDED", "END_HEADERS", "END_STREAM")
        + _frame(priority, client.h2.encoder.encode(REQUEST), "PRIORITY", "END_HEADERS", "END_STREAM")
        + client.requests(5, 3)
    )
    events = _same(ours, theirs, data[:30], data[30:100], data[100:107], data[107:])
    assert sum(event.startswith("<RequestReceived") for event in events) == 5
    assert sum(event.startswith("<PriorityUpdated") for event in events) == 1


def _opened(client: _Client, ours: ServerConnection, theirs: ServerConnection) -> None:
    """The connection opened by a first request, stream 1: those after it may take hapair's way."""
    _same(ours, theirs, client.h2.data_to_send() + client.requests(1, 1))
    assert ours.state_machine.state is h2.connection.ConnectionState.SERVER_OPEN


def test_a_stream_id_below_the_highest_is_refused_as_h2_refuses_it() -> None:
    client = _Client()
    ours, theirs = _servers()
    _opened(client, ours, theirs)
    _same(ours, theirs, client.requests(5, 1))
    again = _frame(HeadersFrame(3), client.h2.encoder.encode(REQUEST), "END_HEADERS", "END_STREAM")
    _refused(ours, theirs, again)


def test_an_informational_head_is_refused_as_h2_refuses_it() -> None:
    client = _Client()
    ours, theirs = _servers()
    _opened(client, ours, theirs)
    block = client.h2.encoder.encode([(b":status", b"103"), *REQUEST])
    _refused(ours, theirs, _frame(HeadersFrame(3), block, "END_HEADERS"))


def test_a_request_inside_a_header_block_is_refused_as_h2_refuses_it() -> None:
    client = _Client()
    ours, theirs = _servers()
    _opened(client, ours, theirs)
    block = client.h2.encoder.encode(REQUEST)
    opened = _frame(HeadersFrame(3), block, "END_STREAM")
    other = _frame(HeadersFrame(5), client.h2.encoder.encode(REQUEST), "END_HEADERS", "END_STREAM")
    assert _refused(ours, theirs, opened + other) == "Invalid frame during header block."


def test_a_frame_past_the_largest_size_is_refused_as_h2_refuses_it() -> None:
    client = _Client()
    ours, theirs = _servers()
    _opened(client, ours, theirs)
    block = client.h2.encoder.encode([*REQUEST, (b"x-big", b"v" * 20000)])
    _refused(ours, theirs, _frame(HeadersFrame(3), block, "END_HEADERS", "END_STREAM"))


def test_an_invalid_block_is_refused_as_h2_refuses_it() -> None:
    client = _Client()
    ours, theirs = _servers()
    _opened(client, ours, theirs)
    _refused(ours, theirs, _frame(HeadersFrame(3), b"\x82\xfe", "END_HEADERS", "END_STREAM"))


def test_streams_opened_after_the_settings_changed_take_the_new_ones() -> None:
    """Windows and the streams' limit as h2 has them once the client's settings are acknowledged, and
    once it acknowledges ours."""
    client = _Client()
    ours, theirs = _servers()
    _opened(client, ours, theirs)
    assert ours.streams[1].inbound_flow_control_window == 65536
    client.h2.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1000})
    _same(ours, theirs, client.requests(3, 2))
    assert ours.streams[5].outbound_flow_control_window == 1000
    for server in (ours, theirs):
        server.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 5000})
    client.h2.receive_data(ours.data_to_send())
    theirs.data_to_send()
    _same(ours, theirs, client.requests(7, 2))
    assert ours.streams[9].inbound_flow_control_window == 5000
    for server in (ours, theirs):
        server.update_settings({h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 0})
    client.h2.receive_data(ours.data_to_send())
    theirs.data_to_send()
    beyond = _frame(HeadersFrame(11), client.h2.encoder.encode(REQUEST), "END_HEADERS", "END_STREAM")
    _refused(
        ours, theirs, client.h2.data_to_send() + beyond
    )  # its SETTINGS ACK, then (it would not) a stream
