"""UDP sessions (datagram.py) in one process: the shared `proxy_timeout` timer of a server's sessions, the
epoll set of a listener's upstream sockets, and the service end to end on loopback (descriptors, the
answer that ends a session, the address answers come from on a wildcard socket, `proxy_bind`). The wire
behaviour beside nginx's is tests/differential/test_stream_udp.py's and test_stream_udp_rules.py's."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hapair.config.nginx.model.stream import StreamListen, StreamProxy, StreamServer
from hapair.config.nginx.model.upstream import Balancing, Upstream
from hapair.proxy.stream import serve_stream
from hapair.proxy.stream.datagram import DatagramSession, IdleSessions, UpstreamPoller
from hapair.proxy.stream.session import address_texts
from tests.python_source import source_module

from .helpers import PLACE, access_log, config, inet, poll, run, upstream_server
from .test_phases import loaded

QUERY = bytes(range(50))
# IdleSessions over fake sessions: from its .py where it is compiled (it checks its arguments' types)
PYTHON_IDLE_SESSIONS = source_module("hapair.proxy.stream.datagram").IdleSessions


@dataclass
class Timer:
    when: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Clock:
    """The two methods of a loop IdleSessions uses, with time moved by hand."""

    now: float = 0.0
    timers: list[Timer] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(when, callback)
        self.timers.append(timer)
        return timer

    def pending(self) -> list[Timer]:
        return [timer for timer in self.timers if not timer.cancelled]

    def advance(self, to: float) -> None:
        """Fire, in order, the timers due by `to`."""
        while due := sorted((t for t in self.pending() if t.when <= to), key=lambda t: t.when):
            timer = due[0]
            self.now = timer.when
            timer.cancel()
            timer.callback()
        self.now = to


@dataclass(eq=False)
class Waiting:
    """A session as IdleSessions sees it."""

    name: str
    active_at: float
    ended: list[str]

    def timed_out(self) -> None:
        self.ended.append(self.name)


def idle_sessions(clock: Clock, timeout: float) -> IdleSessions:
    return cast(IdleSessions, PYTHON_IDLE_SESSIONS(cast(asyncio.AbstractEventLoop, clock), timeout))


def test_idle_sessions_end_at_their_own_deadline_counted_from_their_last_datagram() -> None:
    clock, ended = Clock(), []
    idle = idle_sessions(clock, 10.0)
    a, b, c = (Waiting(name, 0.0, ended) for name in "abc")
    for session in (a, b, c):
        idle.add(cast(DatagramSession, session))
    clock.advance(4.0)
    a.active_at = 4.0
    idle.active(cast(DatagramSession, a))
    clock.advance(9.9)
    assert ended == []
    clock.advance(10.0)
    assert ended == ["b", "c"]
    clock.advance(13.9)
    assert ended == ["b", "c"]
    clock.advance(14.0)
    assert ended == ["b", "c", "a"]
    assert clock.pending() == []


def test_idle_sessions_share_one_timer_however_many_sessions_come_and_go() -> None:
    clock, ended = Clock(), []
    idle = idle_sessions(clock, 10.0)
    for n in range(5):  # each ends before its timeout
        clock.now = float(n)
        session = cast(DatagramSession, Waiting(f"s{n}", clock.now, ended))
        idle.add(session)
        idle.remove(session)
        idle.remove(session)  # ended twice (timed out, then finished): no harm
    last = Waiting("last", 5.0, ended)
    clock.now = 5.0
    idle.add(cast(DatagramSession, last))
    assert [timer.when for timer in clock.timers] == [10.0]
    clock.advance(14.9)
    assert [timer.when for timer in clock.pending()] == [15.0]
    idle.remove(cast(DatagramSession, last))
    clock.advance(30.0)
    assert (ended, clock.pending()) == ([], [])


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_the_upstream_poller_calls_back_for_each_readable_socket_it_watches() -> None:
    """A socket it no longer watches is not heard from; closed, it leaves no descriptor."""

    async def scenario() -> tuple[list[str], int, int]:
        before = open_descriptors()
        poller = UpstreamPoller(asyncio.get_running_loop())
        poller.start()
        heard: list[str] = []
        got = asyncio.Event()
        sockets = {}
        for name in ("a", "b", "c"):
            sock = sockets[name] = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK)
            sock.bind(("127.0.0.1", 0))

            def readable(sock: socket.socket = sock, name: str = name) -> None:
                heard.append(f"{name} {sock.recv(100).decode()}")
                got.set()

            poller.watch(sock.fileno(), readable)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for name in ("a", "b"):
                sender.sendto(b"1", sockets[name].getsockname())
                await got.wait()
                got.clear()
            poller.closing(sockets["a"].fileno())
            sockets["a"].close()
            poller.unwatch(sockets["b"].fileno())
            sender.sendto(b"2", sockets["b"].getsockname())
            sender.sendto(b"2", sockets["c"].getsockname())  # reported with b's, were b still watched
            await got.wait()
        during = open_descriptors()
        poller.closing(sockets["c"].fileno())
        for sock in sockets.values():
            sock.close()
        poller.close()
        return heard, during - before, open_descriptors() - before

    heard, during, after = run(scenario())
    assert heard == ["a 1", "b 1", "c 2"]
    assert (during, after) == (3, 0)  # b, c and the epoll set; then nothing


def udp_server(
    backend_ports: list[int], tmp_path: Path, *, address: str = "127.0.0.1", responses: int | None = 1
) -> StreamServer:
    upstream = Upstream(
        "dns",
        tuple(upstream_server(port) for port in backend_ports),
        Balancing.ROUND_ROBIN,
        None,
        False,
        PLACE,
    )
    listen = StreamListen(inet(0, address), False, 511, False, True, True, PLACE, udp=True)
    log = access_log(tmp_path / "access.log", "$remote_addr $server_addr $status $bytes_sent $bytes_received")
    proxy = StreamProxy(upstream, 2000, 10000, PLACE, responses=responses)
    return StreamServer((listen,), proxy, (log,), (), {}, PLACE)


class Answering(asyncio.DatagramProtocol):
    """A backend sending each datagram back `copies` times."""

    def __init__(self, copies: int) -> None:
        self.copies = copies
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        for _ in range(self.copies):
            self.transport.sendto(data, addr)


async def answering(copies: int = 1) -> tuple[asyncio.DatagramTransport, int]:
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: Answering(copies), local_addr=("127.0.0.1", 0)
    )
    return transport, transport.get_extra_info("sockname")[1]


class Client(asyncio.DatagramProtocol):
    """A client socket on 127.0.0.1: the answers and the addresses they came from."""

    def __init__(self) -> None:
        self.answers: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.answers.put_nowait((data, addr[0]))

    async def ask(self, port: int, to: str = "127.0.0.1") -> tuple[bytes, str]:
        """One query to the proxy; the answer and the address it came from."""
        assert self.transport is not None
        self.transport.sendto(QUERY, (to, port))
        return await self.answers.get()


async def client() -> Client:
    _, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Client, local_addr=("127.0.0.1", 0)
    )
    return protocol


async def ask_once(port: int) -> bytes:
    asking = await client()
    try:
        data, _ = await asking.ask(port)
    finally:
        assert asking.transport is not None
        asking.transport.close()
    return data


def test_udp_sessions_leave_no_descriptor_open(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int, list[bytes]]:
        (first, first_port), (second, second_port) = await answering(), await answering()
        before = open_descriptors()
        service = await serve_stream(config(udp_server([first_port, second_port], tmp_path)))
        port = service.datagram_sockets[0].getsockname()[1]
        answers = await asyncio.gather(*(ask_once(port) for _ in range(50)))
        await poll(lambda: not service.sessions)
        service.close()
        await service.wait_closed()
        after = open_descriptors()
        first.close()
        second.close()
        return before, after, answers

    before, after, answers = run(scenario())
    assert answers == [QUERY] * 50
    assert after == before
    assert len((tmp_path / "access.log").read_text().splitlines()) == 50


def test_the_answer_that_ends_a_session_is_the_last_datagram_read_of_its_peer(tmp_path: Path) -> None:
    """The peer's second copy, already queued, is not passed on: the session ended with the first
    (docs/nginx-differences.md)."""

    async def scenario() -> list[bytes]:
        backend, backend_port = await answering(copies=2)
        service = await serve_stream(config(udp_server([backend_port], tmp_path)))
        port = service.datagram_sockets[0].getsockname()[1]
        asking = await client()
        answer, _ = await asking.ask(port)
        await poll(lambda: not service.sessions)
        second, _ = await asking.ask(port)  # the next session's answer, not the first's copy
        assert asking.transport is not None
        asking.transport.close()
        service.close()
        await service.wait_closed()
        backend.close()
        return [answer, second]

    assert run(scenario()) == [QUERY, QUERY]
    assert (tmp_path / "access.log").read_text().splitlines() == ["127.0.0.1 127.0.0.1 200 50 50"] * 2


def test_answers_come_from_the_address_each_client_wrote_to_on_a_wildcard_socket(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        backend, backend_port = await answering()
        service = await serve_stream(config(udp_server([backend_port], tmp_path, address="0.0.0.0")))
        port = service.datagram_sockets[0].getsockname()[1]
        asking = await client()
        senders = []
        for local in ("127.0.0.2", "127.0.0.1", "127.0.0.2"):
            _, sender = await asking.ask(port, to=local)
            senders.append(sender)
            await poll(lambda: not service.sessions)
        assert asking.transport is not None
        asking.transport.close()
        service.close()
        await service.wait_closed()
        backend.close()
        return senders

    assert run(scenario()) == ["127.0.0.2", "127.0.0.1", "127.0.0.2"]
    assert (tmp_path / "access.log").read_text().splitlines() == [
        "127.0.0.1 127.0.0.2 200 50 50",
        "127.0.0.1 127.0.0.1 200 50 50",
        "127.0.0.1 127.0.0.2 200 50 50",
    ]


def test_address_texts_take_an_ipv4_address_as_the_kernel_wrote_it_and_parse_ipv6_ones() -> None:
    assert address_texts(socket.AF_INET, ("10.1.2.3", 53)) == ("10.1.2.3", "53", "\x0a\x01\x02\x03")
    assert address_texts(socket.AF_INET6, ("2001:db8::1%eth0", 53, 0, 2)) == (
        "2001:db8::1",
        "53",
        "\x20\x01\x0d\xb8" + "\x00" * 11 + "\x01",
    )


class SourceTelling(asyncio.DatagramProtocol):
    """A backend answering each datagram with the address it came from."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        assert self.transport is not None
        self.transport.sendto(addr[0].encode(), addr)


def bound(
    tmp_path: Path, lines: str, *, source: str = "127.0.0.1", answered: bool = True
) -> tuple[str, str, str]:
    """Through a UDP server with `lines`, from `source`: the address the backend saw the query come from
    (waited for when `answered`, else ""), the session's access log line (`$status`) and the error log."""
    access = tmp_path / "access.log"

    async def scenario() -> str:
        loop = asyncio.get_running_loop()
        backend, _ = await loop.create_datagram_endpoint(SourceTelling, local_addr=("127.0.0.1", 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as free:  # a port no one uses now
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        upstream = f"127.0.0.1:{backend.get_extra_info('sockname')[1]}"
        stream = loaded(
            tmp_path,
            f"error_log {tmp_path}/error.log info;\nlog_format status '$status';\n"
            f"server {{ listen 127.0.0.1:{port} udp; proxy_pass {upstream}; proxy_responses 1;\n"
            f"    access_log {access} status; {lines} }}",
        )
        service = await serve_stream(stream)
        _, asking = await loop.create_datagram_endpoint(Client, local_addr=(source, 0))
        assert asking.transport is not None
        asking.transport.sendto(QUERY, ("127.0.0.1", port))
        answer = (await asking.answers.get())[0] if answered else b""
        await poll(lambda: access.exists() and access.stat().st_size > 0)
        asking.transport.close()
        service.close()
        await service.wait_closed()
        backend.close()
        return answer.decode()

    answer = run(scenario())
    log = tmp_path / "error.log"
    return answer, access.read_text(), log.read_text() if log.exists() else ""


def test_proxy_bind_sends_a_sessions_datagrams_from_its_address(tmp_path: Path) -> None:
    assert bound(tmp_path, "proxy_bind 127.0.0.3;")[:2] == ("127.0.0.3", "200\n")


def test_proxy_bind_with_variables_binds_the_value_of_each_session(tmp_path: Path) -> None:
    assert bound(tmp_path, "proxy_bind $remote_addr;", source="127.0.0.5")[:2] == ("127.0.0.5", "200\n")


def test_a_proxy_bind_address_that_cannot_be_bound_ends_the_session_with_500(tmp_path: Path) -> None:
    answer, access, errors = bound(tmp_path, "proxy_bind 192.0.2.1;", answered=False)
    assert (answer, access) == ("", "500\n")
    assert "[crit]" in errors
    assert "bind(192.0.2.1) failed (99: Cannot assign requested address), udp client: 127.0.0.1" in errors
