"""Run inside a network namespace by test_connection_burst.py: open COUNT connections to 127.0.0.1:PORT
as fast as connect() returns, send `GET / HTTP/1.0` on each as soon as it can be written, read each
answer to its end; then print, as JSON, how many were answered 200 and how many connection attempts the
namespace's kernel dropped because a listening queue was full (TcpExt ListenOverflows)."""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time

REQUEST = b"GET / HTTP/1.0\r\nHost: burst\r\n\r\n"
BOUND_S = 60.0  # only so that a stuck proxy cannot hang the test run


def listen_overflows() -> int:
    with open("/proc/net/netstat") as netstat:
        names, values = [line.split() for line in netstat if line.startswith("TcpExt:")][:2]
    return int(values[names.index("ListenOverflows")])


def main() -> None:
    port, count = int(sys.argv[1]), int(sys.argv[2])
    before = listen_overflows()
    selector = selectors.DefaultSelector()
    answers: dict[socket.socket, bytearray] = {}
    for _ in range(count):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        answers[client] = bytearray()
        try:
            client.send(REQUEST)  # a connection over the loopback is usually made at once
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
            try:
                if events & selectors.EVENT_WRITE:
                    client.send(REQUEST)
                    selector.modify(client, selectors.EVENT_READ)
                    continue
                data = client.recv(65536)
            except OSError:
                data = b""  # refused or reset: not answered
            if data:
                answers[client] += data
                continue
            selector.unregister(client)
            client.close()
            done += 1
            answered += answers[client].startswith(b"HTTP/1.1 200 ")
    print(json.dumps({"answered": answered, "overflows": listen_overflows() - before}))


if __name__ == "__main__":
    main()
