"""Run inside a network namespace by test_connection_burst.py: open COUNT connections to 127.0.0.1:PORT
as fast as connect() returns, send a request on each as soon as it can be written (`GET / HTTP/1.0`, or
with `h2` an HTTP/2 client's preface and a GET on stream 1, prior knowledge), read each answer to its
end; then print, as JSON, how many were answered 200 and how many connection attempts the namespace's
kernel dropped because a listening queue was full (TcpExt ListenOverflows)."""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time

import h2.config
import h2.connection
import h2.events

REQUEST = b"GET / HTTP/1.0\r\nHost: burst\r\n\r\n"
BOUND_S = 60.0  # only so that a stuck proxy cannot hang the test run


def listen_overflows() -> int:
    with open("/proc/net/netstat") as netstat:
        names, values = [line.split() for line in netstat if line.startswith("TcpExt:")][:2]
    return int(values[names.index("ListenOverflows")])


class Http1Answer:
    """What came back on an HTTP/1.0 connection: whole once the proxy closes it."""

    request = REQUEST

    def __init__(self) -> None:
        self.received = bytearray()

    def feed(self, data: bytes) -> bool:
        """Whether the answer is whole (here: never before the close)."""
        self.received += data
        return False

    @property
    def ok(self) -> bool:
        return self.received.startswith(b"HTTP/1.1 200 ")


class Http2Answer:
    """What came back on an HTTP/2 connection, read with h2: the status of stream 1, whole once it ended."""

    def __init__(self) -> None:
        self.connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.connection.initiate_connection()
        headers = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "burst")]
        self.connection.send_headers(1, headers, end_stream=True)
        self.request = self.connection.data_to_send()
        self.status = 0
        self.ended = False

    def feed(self, data: bytes) -> bool:
        for event in self.connection.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                self.status = int(dict(event.headers)[b":status"])
            elif isinstance(event, h2.events.StreamEnded):
                self.ended = True
        return self.ended

    @property
    def ok(self) -> bool:
        return self.ended and self.status == 200


def burst(port: int, count: int, answer: type[Http1Answer] | type[Http2Answer]) -> None:
    before = listen_overflows()
    selector = selectors.DefaultSelector()
    answers: dict[socket.socket, Http1Answer | Http2Answer] = {}
    for _ in range(count):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        made = answers[client] = answer()
        try:
            client.send(made.request)  # a connection over the loopback is usually made at once
        except OSError:
            selector.register(client, selectors.EVENT_WRITE)
        else:
            selector.register(client, selectors.EVENT_READ)
    answered = done = 0
    deadline = time.monotonic() + BOUND_S
    while done < count and time.monotonic() < deadline:
        for key, events in selector.select(1.0):
            client = key.fileobj
            assert isinstance(client, socket.socket)
            made = answers[client]
            try:
                if events & selectors.EVENT_WRITE:
                    client.send(made.request)
                    selector.modify(client, selectors.EVENT_READ)
                    continue
                data = client.recv(65536)
            except OSError:
                data = b""  # refused or reset: not answered
            if data and not made.feed(data):
                continue
            selector.unregister(client)
            client.close()
            done += 1
            answered += made.ok
    print(json.dumps({"answered": answered, "overflows": listen_overflows() - before}))


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    http2 = len(sys.argv) > 3 and sys.argv[3] == "h2"
    burst(port, count, Http2Answer if http2 else Http1Answer)


if __name__ == "__main__":
    main()
