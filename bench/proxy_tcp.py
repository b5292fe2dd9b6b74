"""The two ends of bench/proxy.py's L4 bulk transfer, run inside the network namespaces.

    python bench/proxy_tcp.py source ADDRESS PORT      a backend: every connection gets zeros, forever
    python bench/proxy_tcp.py sink HOST PORT BYTES     a client: reads BYTES, prints "BYTES SECONDS"

The source sends from a memfd full of zeros with sendfile(2), so the backend costs next to nothing and
the client straight to it measures the path itself; a connection ends when the reader goes away. The
sink reads into one preallocated buffer and times from just before the connection to the last byte.
"""

from __future__ import annotations

import os
import socket
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


def sink(host: str, port: int, total: int) -> None:
    buffer = memoryview(bytearray(READ_BUFFER))
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=60) as connection:
        remaining = total
        while remaining > 0:
            received = connection.recv_into(buffer, min(READ_BUFFER, remaining))
            if received == 0:
                sys.exit(f"sink: the connection closed after {total - remaining} of {total} bytes")
            remaining -= received
    print(f"{total} {time.perf_counter() - start:.6f}", flush=True)


def main(argv: list[str]) -> None:
    match argv:
        case ["source", address, port]:
            source(address, int(port))
        case ["sink", host, port, total]:
            sink(host, int(port), int(total))
        case _:
            sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
