"""Responses framed by hapair's subclass of h2's connection (proxy/http/h2/connection.py `send_block`,
`send_body`) as h2 would frame them: an h2 client reads them, a header block past the client's frame size
goes on in CONTINUATION frames, the windows and the stream's state move as h2's own methods move them."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import pytest

from hapair.proxy.http.h2.encoding import HeadEncoder
from hapair.proxy.http.h2.machine import ServerConnection, server_configuration
from hapair.proxy.http.response import Framing, ResponseHead

FRAMING = Framing(b"", chunked=False, redirect_base=None)
DATE = b"Sun, 06 Dec 2026 15:00:00 GMT"


def _pair() -> tuple[h2.connection.H2Connection, ServerConnection]:
    """A client and hapair's server connection, their prefaces exchanged, stream 1 requested."""
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
    server = ServerConnection(server_configuration())
    client.initiate_connection()
    server.initiate_connection()
    request = [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":authority", b"x")]
    client.send_headers(1, request, end_stream=True)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    server.receive_data(client.data_to_send())  # the client's SETTINGS ACK
    return client, server


def _frame_kinds(data: bytes) -> list[tuple[int, int]]:
    """(type, flags) of each frame in `data`."""
    kinds = []
    while data:
        length = int.from_bytes(data[:3], "big")
        kinds.append((data[3], data[4]))
        data = data[9 + length :]
    return kinds


def _head(*headers: tuple[bytes, bytes]) -> bytes:
    head = ResponseHead(200)
    head.content_type, head.content_length = b"text/plain", 3
    head.headers = list(headers)
    return HeadEncoder(b"hapair").head(head, DATE, FRAMING)


def test_a_response_is_read_by_an_h2_client() -> None:
    client, server = _pair()
    stream = server.begun.pop(1)
    size = server.send_block(stream, _head((b"x-a", b"1")), informational=False, end_stream=False)
    server.send_body(stream, b"ok\n", end_stream=True)
    written = server.data_to_send()
    assert size == len(written) - 9 - 3  # the HEADERS frame, then the DATA frame's head and body
    events = client.receive_data(written)
    response = next(event for event in events if isinstance(event, h2.events.ResponseReceived))
    assert response.headers[0] == (b":status", b"200")
    assert (b"x-a", b"1") in response.headers
    assert [event.data for event in events if isinstance(event, h2.events.DataReceived)] == [b"ok\n"]
    assert any(isinstance(event, h2.events.StreamEnded) for event in events)
    assert stream.closed
    assert server.outbound_flow_control_window == 65535 - 3


def test_a_large_head_goes_on_in_continuation_frames() -> None:
    client, server = _pair()
    stream = server.begun.pop(1)
    block = _head((b"x-big", b"v" * 40000))
    size = server.send_block(stream, block, informational=False, end_stream=True)
    written = server.data_to_send()
    assert _frame_kinds(written) == [
        (0x1, 0x1),
        (0x9, 0x0),
        (0x9, 0x4),
    ]  # HEADERS with END_STREAM, CONTINUATION, END_HEADERS
    assert size == len(written) == len(block) + 3 * 9
    events = client.receive_data(written)
    response = next(event for event in events if isinstance(event, h2.events.ResponseReceived))
    assert (b"x-big", b"v" * 40000) in response.headers
    assert stream.closed


def test_a_body_past_the_window_is_refused_as_h2_refuses_it() -> None:
    _, server = _pair()
    stream = server.begun.pop(1)
    server.send_block(stream, _head(), informational=False, end_stream=False)
    with pytest.raises(h2.exceptions.FlowControlError):
        server.send_body(stream, b"x" * 65536, end_stream=True)
