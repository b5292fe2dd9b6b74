"""What `listen`'s socket parameters and the stream proxy's socket directives do to the sockets:
`rcvbuf=`, `sndbuf=`, `so_keepalive=`, `fastopen=` and `deferred` on a listening socket (accepted
connections inherit them), `proxy_bind` (an address, a value with variables, one that cannot be bound)
and `proxy_socket_keepalive` on upstream connections."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

from hapair.config.nginx.model.sockets import KeepAlive, SocketOptions
from hapair.proxy.listening import listening_socket
from hapair.proxy.stream import serve_stream

from .helpers import free_listener, inet, run
from .test_phases import loaded


def test_a_listening_socket_gets_its_options_and_accepted_connections_inherit_them() -> None:
    options = SocketOptions(
        rcvbuf=65536, sndbuf=131072, keepalive=KeepAlive(True, 600, 30, 4), fastopen=16, deferred=5
    )
    sock = listening_socket(inet(0), backlog=16, ipv6only=True, reuse_port=False, options=options)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == 2 * 65536  # Linux doubles it
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) == 2 * 131072
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 600
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 30
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN) == 16
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT) > 0
        with socket.create_connection(sock.getsockname()) as client:
            client.sendall(b"x")  # a deferred accept waits for data
            sock.setblocking(True)
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 600
    finally:
        sock.close()


def test_so_keepalive_off_turns_it_off() -> None:
    options = SocketOptions(keepalive=KeepAlive(False))
    with listening_socket(inet(0), backlog=16, ipv6only=True, reuse_port=False, options=options) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


def peer_address_server() -> tuple[socket.socket, list[str]]:
    """A backend that records the address each connection comes from, and says it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setblocking(False)
    return server, []


async def serve_peers(server: socket.socket, peers: list[str], kept: list[int] | None = None) -> None:
    """`kept`: the SO_KEEPALIVE of each connection's other end, the proxy's upstream socket."""
    loop = asyncio.get_running_loop()
    while True:
        conn, peer = await loop.sock_accept(server)
        peers.append(peer[0])
        if kept is not None:
            kept.append(own_socket(peer).getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE))
        await loop.sock_sendall(conn, peer[0].encode())
        conn.close()


def own_socket(name: tuple[str, int]) -> socket.socket:
    """This process's socket bound to `name` (the service runs in the test's process), as a duplicate."""
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            duplicate = socket.socket(fileno=os.dup(int(descriptor)))
        except OSError:  # not a socket, or closed since it was listed
            continue
        with contextlib.suppress(OSError):
            if duplicate.type == socket.SOCK_STREAM and duplicate.getsockname() == name:
                return duplicate
        duplicate.close()
    raise LookupError(name)


async def ask(port: int, source: str = "127.0.0.1") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        return await reader.read(100)
    finally:
        writer.close()


def proxied(
    tmp_path: Path, lines: str, *, source: str = "127.0.0.1", kept: list[int] | None = None
) -> tuple[bytes, str]:
    """What a client from `source` gets through a server with `lines`, and the error log; `kept`: see
    serve_peers."""
    server, peers = peer_address_server()
    backend = server.getsockname()[1]
    listener = free_listener()
    port = listener.getsockname()[1]

    async def scenario() -> bytes:
        serving = asyncio.ensure_future(serve_peers(server, peers, kept))
        stream = loaded(
            tmp_path,
            f"error_log {tmp_path}/error.log info;\n"
            f"server {{ listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{backend}; {lines} }}",
        )
        service = await serve_stream(stream, listening={inet(port): listener})
        try:
            return await ask(port, source)
        finally:
            service.close()
            await service.wait_closed()
            serving.cancel()

    try:
        answer = run(scenario())
    finally:
        server.close()
        listener.close()
    log = tmp_path / "error.log"
    return answer, log.read_text() if log.exists() else ""


def test_proxy_bind_makes_upstream_connections_from_its_address(tmp_path: Path) -> None:
    assert proxied(tmp_path, "proxy_bind 127.0.0.3;")[0] == b"127.0.0.3"


def test_proxy_bind_with_variables_binds_the_value_of_each_session(tmp_path: Path) -> None:
    """The classic use: the client's own address (here without `transparent`, on loopback)."""
    assert proxied(tmp_path, "proxy_bind $remote_addr;", source="127.0.0.5")[0] == b"127.0.0.5"


def test_a_proxy_bind_value_that_is_no_address_is_logged_and_not_bound(tmp_path: Path) -> None:
    answer, log = proxied(tmp_path, "set $local nowhere; proxy_bind $local;")
    assert answer == b"127.0.0.1"
    assert 'invalid local address "nowhere"' in log


def test_an_address_that_cannot_be_bound_ends_the_session(tmp_path: Path) -> None:
    answer, log = proxied(tmp_path, "proxy_bind 192.0.2.1;")
    assert answer == b""
    assert "[crit]" in log and "bind(192.0.2.1) failed (99: Cannot assign requested address)" in log


def test_proxy_socket_keepalive_sets_so_keepalive_on_upstream_connections(tmp_path: Path) -> None:
    kept: list[int] = []
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    proxied(tmp_path / "on", "proxy_socket_keepalive on;", kept=kept)
    proxied(tmp_path / "off", "", kept=kept)
    assert kept == [1, 0]
