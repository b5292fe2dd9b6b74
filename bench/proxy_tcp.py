"""The two ends of bench/proxy.py's L4 bulk transfer, run inside the network namespaces.

    python bench/proxy_tcp.py source ADDRESS PORT              a backend: every connection gets zeros,
                                                               forever
    python bench/proxy_tcp.py sink HOST PORT BYTES [NAME]      a client: reads BYTES, prints "BYTES SECONDS"
    python bench/proxy_tcp.py tls-sink HOST PORT BYTES         the same over TLS (no certificate check)
    python bench/proxy_tcp.py echo ADDRESS PORT                a UDP backend: each datagram sent back
    python bench/proxy_tcp.py ask HOST PORT SECONDS SOCKETS    a UDP client: a DNS-sized query in flight
                                                               on each socket, for SECONDS; prints
                                                               "ANSWERS SECONDS"
    python bench/proxy_tcp.py hold HOST PORT COUNT             an HTTP client: COUNT keep-alive
                                                               connections, each after one GET /ok
                                                               answered; prints "held COUNT", then
                                                               keeps them idle until it is killed

The source sends from a memfd full of zeros with sendfile(2), so the backend costs next to nothing and
the client straight to it measures the path itself; a connection ends when the reader goes away (what it
sends is not read). The sink reads into one preallocated buffer and times from just before the
connection to the last byte; with NAME it first sends a TLS ClientHello for that server name (OpenSSL's,
made without a network), for a proxy that routes by SNI; `tls-sink` makes a TLS connection (TLS 1.2, as
nginx 1.22 offers by default) and reads through it, for a proxy terminating TLS. `ask` keeps one query in
flight on each of its sockets (each a client address: a UDP session of its own in the proxy) and counts
the answers.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

CHUNK = 16 * 2**20
READ_BUFFER = 2**20


def zeros() -> int:
    """A memory file of CHUNK zero bytes, written out so that sendfile finds real pages."""
    fd = os.memfd_create("zeros")
    block = bytes(2**20)
    for _ in range(CHUNK // len(block)):
        os.write(fd, block)
    return fd


def stream_zeros(connection: socket.socket, fd: int) -> None:
    with connection:
        out = connection.fileno()
        try:
            while True:
                offset = 0
                while offset < CHUNK:
                    offset += os.sendfile(out, fd, offset, CHUNK - offset)
        except OSError:  # the reader went away: the end of this transfer
            return


def source(address: str, port: int) -> None:
    fd = zeros()
    listener = socket.create_server((address, port), backlog=128, reuse_port=False)
    print(f"source listening on {address}:{port}", flush=True)
    while True:
        connection, _ = listener.accept()
        threading.Thread(target=stream_zeros, args=(connection, fd), daemon=True).start()


def client_hello(server_name: str) -> bytes:
    """The first flight of Python's TLS client for `server_name`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        context.wrap_bio(incoming, outgoing, server_hostname=server_name).do_handshake()
    except ssl.SSLWantReadError:
        return outgoing.read()
    raise RuntimeError("a handshake cannot end without a server")


def sink(host: str, port: int, total: int, server_name: str | None = None) -> None:
    buffer = memoryview(bytearray(READ_BUFFER))
    hello = client_hello(server_name) if server_name else b""
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=60) as connection:
        connection.sendall(hello)
        remaining = total
        while remaining > 0:
            received = connection.recv_into(buffer, min(READ_BUFFER, remaining))
            if received == 0:
                sys.exit(f"sink: the connection closed after {total - remaining} of {total} bytes")
            remaining -= received
    print(f"{total} {time.perf_counter() - start:.6f}", flush=True)


def tls_sink(host: str, port: int, total: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    buffer = memoryview(bytearray(READ_BUFFER))
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=60) as raw, context.wrap_socket(raw) as connection:
        remaining = total
        while remaining > 0:
            received = connection.recv_into(buffer, min(READ_BUFFER, remaining))
            if received == 0:
                sys.exit(f"tls-sink: the connection closed after {total - remaining} of {total} bytes")
            remaining -= received
    print(f"{total} {time.perf_counter() - start:.6f}", flush=True)


QUERY = bytes(range(50))  # a DNS query's size; the echo sends it back as the answer


def echo(address: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    print(f"echo listening on {address}:{port}", flush=True)
    while True:
        data, peer = sock.recvfrom(65535)
        sock.sendto(data, peer)


def ask(host: str, port: int, seconds: float, count: int) -> None:
    """Queries in flight on `count` sockets for `seconds`; a query lost is sent again after 1 s."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect((host, port))
        sock.setblocking(False)
        sock.send(QUERY)
        sockets.append(sock)
    sent_at = {sock.fileno(): time.perf_counter() for sock in sockets}
    poller = select.epoll()
    for sock in sockets:
        poller.register(sock.fileno(), select.EPOLLIN)
    by_fd = {sock.fileno(): sock for sock in sockets}
    answers = 0
    start = time.perf_counter()
    end = start + seconds
    while (now := time.perf_counter()) < end:
        for fd, _ in poller.poll(0.1):
            try:
                by_fd[fd].recv(65535)
            except OSError:
                continue
            answers += 1
            by_fd[fd].send(QUERY)
            sent_at[fd] = time.perf_counter()
        for fd, at in sent_at.items():
            if now - at > 1.0:
                by_fd[fd].send(QUERY)
                sent_at[fd] = now
    print(f"{answers} {time.perf_counter() - start:.6f}", flush=True)


def hold(host: str, port: int, count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 100)), hard))
    held = []
    for _ in range(count):
        connection = socket.create_connection((host, port), timeout=30)
        # reset when the process ends: no TIME_WAIT left to take the ports the next test's client needs
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.sendall(b"GET /ok HTTP/1.1\r\nHost: lb\r\n\r\n")
        held.append(connection)
    for connection in held:  # the answers, read once every request is out
        answer = b""
        while not answer.endswith(b"ok\n"):
            chunk = connection.recv(4096)
            if not chunk:
                sys.exit(f"a connection closed after {answer!r}")
            answer += chunk
    print(f"held {len(held)}", flush=True)
    while True:
        signal.pause()


def main(argv: list[str]) -> None:
    match argv:
        case ["source", address, port]:
            source(address, int(port))
        case ["sink", host, port, total]:
            sink(host, int(port), int(total))
        case ["sink", host, port, total, server_name]:
            sink(host, int(port), int(total), server_name)
        case ["tls-sink", host, port, total]:
            tls_sink(host, int(port), int(total))
        case ["echo", address, port]:
            echo(address, int(port))
        case ["ask", host, port, seconds, count]:
            ask(host, int(port), float(seconds), int(count))
        case ["hold", host, port, count]:
            hold(host, int(port), int(count))
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
