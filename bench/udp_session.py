"""What a UDP stream session costs hapair's Python, without a network or other processes in the way: one
process runs a UDP stream server (StreamService on uvloop, as a worker does), two echo backends and 32
client sockets on loopback, each client keeping one 50-byte query in flight (bench/proxy.py's UDP test,
each query a session of its own: `proxy_responses 1`), and prints the process's CPU time per answer.

    PYTHONPATH=src python bench/udp_session.py [--answers 100000] [--log] [--floor]

--log: the server writes an access log line per session (the seed's stream format, to a temporary file);
--floor: floor_proxy.py's udp relay in place of hapair (nginx's system calls and nothing more).

The figure includes the clients' and the echoes' work (the same with or without --floor); the difference
between hapair and --floor is hapair's. For where the time goes, run it under
`py-spy record -r 2000 -f raw -- python bench/udp_session.py` (docs/request-cost.md, "UDP sessions").
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import floor_proxy  # bench/, the script's own directory
import uvloop

from hapair.config.nginx.load import load
from hapair.config.nginx.model.stream import StreamConfig
from hapair.proxy.stream import serve_stream

QUERY = bytes(range(50))
CLIENTS = 32
SEED_FORMAT = (
    "[$time_local] $remote_addr:$remote_port $server_addr:$server_port $protocol $status $bytes_sent "
    "$bytes_received $session_time"
)


def echo(loop: asyncio.AbstractEventLoop) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
    sock.bind(("127.0.0.1", 0))

    def answer() -> None:
        while True:
            try:
                data, peer = sock.recvfrom(65535)
            except BlockingIOError:
                return
            sock.sendto(data, peer)

    loop.add_reader(sock.fileno(), answer)
    return sock


def stream_config(directory: Path, port: int, backends: list[int], *, log: bool) -> StreamConfig:
    """bench/proxy.py's UDP server (with the seed's access log and its format, if `log`), read by hapair's
    configuration reader."""
    servers = " ".join(f"server 127.0.0.1:{backend};" for backend in backends)
    access = f"access_log {directory}/access.log seed;" if log else ""
    text = (
        "stream {\n"
        f"    log_format seed '{SEED_FORMAT}';\n"
        f"    upstream echo {{ {servers} }}\n"
        f"    server {{ listen {port} udp; proxy_pass echo; proxy_responses 1; proxy_timeout 10s;\n"
        f"        {access} }}\n"
        "}\n"
    )
    (directory / "udp.conf").write_text(text)
    loaded = load(str(directory / "udp.conf"), prefix=str(directory))
    if loaded.config is None or loaded.config.stream is None:
        raise SystemExit(f"udp_session.py: {loaded.error}")
    return loaded.config.stream


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", 0))
        return int(sock.getsockname()[1])


async def ask(loop: asyncio.AbstractEventLoop, port: int, answers: int) -> float:
    """Keep a query in flight on each client until `answers` have come; the CPU seconds it took."""
    done = asyncio.Event()
    count = 0
    clients = []
    for _ in range(CLIENTS):
        client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
        client.connect(("127.0.0.1", port))

        def answered(client: socket.socket = client) -> None:
            nonlocal count
            while True:
                try:
                    client.recv(65535)
                except BlockingIOError:
                    return
                count += 1
                if count >= answers:
                    done.set()
                    return
                client.send(QUERY)

        loop.add_reader(client.fileno(), answered)
        clients.append(client)
    started = time.process_time()
    for client in clients:
        client.send(QUERY)
    await done.wait()
    spent = time.process_time() - started
    for client in clients:
        loop.remove_reader(client.fileno())
        client.close()
    return spent


async def measure(directory: Path, answers: int, *, log: bool, floor: bool) -> float:
    loop = asyncio.get_running_loop()
    echoes = [echo(loop), echo(loop)]
    backends = [sock.getsockname()[1] for sock in echoes]
    port = free_udp_port()
    stop: Callable[[], None]
    if floor:
        watch = floor_proxy.EpollWatch(loop)
        turns = itertools.cycle([("127.0.0.1", backend) for backend in backends])
        relay = floor_proxy.DatagramRelay(floor_proxy.listening_datagram("0.0.0.0", port), turns, watch)
        loop.add_reader(relay.sock.fileno(), relay.receive)

        def stop() -> None:
            loop.remove_reader(relay.sock.fileno())
    else:
        service = await serve_stream(stream_config(directory, port, backends, log=log))
        stop = service.abort
    try:
        return await ask(loop, port, answers) / answers
    finally:
        stop()
        for sock in echoes:
            loop.remove_reader(sock.fileno())
            sock.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--log", action="store_true", help="an access log line per session")
    parser.add_argument("--floor", action="store_true", help="floor_proxy.py's udp relay instead")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hapair-udp-session-") as scratch:
        seconds = uvloop.run(measure(Path(scratch), options.answers, log=options.log, floor=options.floor))
    what = "floor" if options.floor else "hapair" + (", access log" if options.log else "")
    print(f"{what}: {seconds * 1e6:.1f} µs of CPU per answer (the process: server, clients and echoes)")


if __name__ == "__main__":
    main()
