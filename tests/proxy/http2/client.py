"""HTTP/2 clients for the tests, over real sockets: `H2Client` speaks HTTP/2 with the `h2` library
(streams of its own, its windows acknowledged or not, its settings), `RawClient` writes frames as they
are given and reads what comes back frame by frame (for the attacks, which no client library sends)."""

from __future__ import annotations

import asyncio
import ssl
import struct
from dataclasses import dataclass, field

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import GoAwayFrame

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
GOAWAY = 0x7
RST_STREAM = 0x3


@dataclass
class Response:
    """One stream's answer: its head, body and trailers, or its reset."""

    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    trailers: list[tuple[bytes, bytes]] = field(default_factory=list)
    reset: int | None = None  # the RST_STREAM code the server sent
    frames: list[int] = field(default_factory=list)  # the size of each DATA frame
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def status(self) -> int:
        return int(self.header(":status") or 0)

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.encode():
                return value.decode("latin-1")
        return None


def tls_context(*, alpn: list[str]) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(alpn)
    return context


class H2Client:
    """One HTTP/2 connection; `acknowledge=False` leaves received data unacknowledged (the server's
    windows for this client then close)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, acknowledge: bool = True
    ) -> None:
        self.reader, self.writer = reader, writer
        self.acknowledge = acknowledge
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(
                client_side=True,
                header_encoding=None,
                validate_outbound_headers=False,
                normalize_outbound_headers=False,
            )
        )
        self.responses: dict[int, Response] = {}
        self.goaway: h2.events.ConnectionTerminated | None = None
        self.remote_settings: dict[int, int] = {}
        self.closed = asyncio.Event()
        self._window = asyncio.Event()
        self.uploaded = 0  # request body bytes sent
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        port: int,
        *,
        ssl_context: ssl.SSLContext | None = None,
        settings: dict[int, int] | None = None,
        acknowledge: bool = True,
        preamble: bytes = b"",
    ) -> H2Client:
        """`preamble`: bytes written before HTTP/2's (a PROXY protocol header)."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
        writer.write(preamble)
        client = cls(reader, writer, acknowledge=acknowledge)
        if settings:
            client.conn.local_settings = h2.settings.Settings(client=True, initial_values=settings)
        client.conn.initiate_connection()
        client.flush()
        client._task = asyncio.get_running_loop().create_task(client._read())
        return client

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data and not self.writer.is_closing():
            self.writer.write(data)

    def send(self, path: str = "/", *, method: str = "GET", end: bool = True, extra: tuple = ()) -> int:
        """A request's head on a new stream (`end`: it ends the stream); its id."""
        headers = [
            (b":method", method.encode()),
            (b":scheme", b"http"),
            (b":path", path.encode()),
            (b":authority", b"example.test"),
            *extra,
        ]
        return self.send_headers(headers, end=end)

    def send_headers(self, headers: list[tuple[bytes, bytes]], *, end: bool = True) -> int:
        """A header list as it is, pseudo-headers included, on a new stream; its id."""
        stream_id = self.conn.get_next_available_stream_id()
        self.responses[stream_id] = Response()
        self.conn.send_headers(stream_id, headers, end_stream=end)
        self.flush()
        return stream_id

    async def upload(self, stream_id: int, body: bytes, *, end: bool = True) -> None:
        """`body` on the stream, as the server's windows let it go."""
        view = memoryview(body)
        while view:
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if window <= 0:
                self._window.clear()
                await asyncio.wait_for(self._window.wait(), 10)
                continue
            self.conn.send_data(stream_id, bytes(view[:window]), end_stream=end and len(view) <= window)
            self.uploaded += min(window, len(view))
            view = view[window:]
            self.flush()
        if end and not body:
            self.conn.end_stream(stream_id)
            self.flush()

    async def get(self, path: str = "/", *, body: bytes = b"", **options: object) -> Response:
        stream_id = self.send(path, end=not body, **options)  # type: ignore[arg-type]
        if body:
            await self.upload(stream_id, body)
        return await self.response(stream_id)

    async def response(self, stream_id: int, timeout: float = 10.0) -> Response:
        response = self.responses[stream_id]
        await asyncio.wait_for(response.done.wait(), timeout)
        return response

    def reset(self, stream_id: int, code: int = 0x8) -> None:
        self.conn.reset_stream(stream_id, code)
        self.flush()

    def open_window(self, stream_id: int, size: int) -> None:
        """Acknowledge `size` bytes of a stream (and of the connection)."""
        self.conn.acknowledge_received_data(size, stream_id)
        self.flush()

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(65536):
                for event in self.conn.receive_data(data):
                    self._event(event)
                self.flush()
        except (ConnectionError, h2.exceptions.ProtocolError):
            pass
        finally:
            self.closed.set()
            for response in self.responses.values():
                response.done.set()

    def _event(self, event: h2.events.Event) -> None:
        response = self.responses.get(getattr(event, "stream_id", 0) or 0)
        if isinstance(event, h2.events.ResponseReceived) and response is not None:
            response.headers = list(event.headers)  # type: ignore[arg-type]
        elif isinstance(event, h2.events.DataReceived) and response is not None:
            response.body += event.data
            response.frames.append(len(event.data))
            if self.acknowledge:
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.TrailersReceived) and response is not None:
            response.trailers = list(event.headers)  # type: ignore[arg-type]
        elif isinstance(event, h2.events.StreamEnded) and response is not None:
            response.done.set()
        elif isinstance(event, h2.events.StreamReset) and response is not None:
            response.reset = event.error_code
            response.done.set()
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.remote_settings.update({k: v.new_value for k, v in event.changed_settings.items()})
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = event
            if event.error_code == 0:
                # a graceful GOAWAY lets the streams under way finish (RFC 9113, 6.8); h2 would stop
                self.conn.state_machine.state = h2.connection.ConnectionState.CLIENT_OPEN
        if isinstance(event, (h2.events.WindowUpdated, h2.events.RemoteSettingsChanged)):
            self._window.set()

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            await asyncio.wait_for(self._task, 5)


def frame(kind: int, flags: int, stream_id: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream_id) + payload


class RawClient:
    """Frames written as given; the server's frames read back as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self._buffer = b""

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(PREFACE + frame(0x4, 0, 0, b""))
        return cls(reader, writer)

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    async def frames(self, timeout: float = 10.0) -> list[tuple[int, int, int, bytes]]:
        """What the server sent until it closed: (type, flags, stream id, payload) of each frame."""
        out = []
        async with asyncio.timeout(timeout):
            try:
                while chunk := await self.reader.read(65536):
                    self._buffer += chunk
            except ConnectionError:
                pass
        data = self._buffer
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            kind, flags = data[3], data[4]
            stream_id = int.from_bytes(data[5:9], "big") & 0x7FFFFFFF
            out.append((kind, flags, stream_id, data[9 : 9 + length]))
            data = data[9 + length :]
        return out


def goaway_code(frames: list[tuple[int, int, int, bytes]]) -> int | None:
    """The error code of the server's GOAWAY, if it sent one."""
    for kind, _, _, payload in frames:
        if kind == GOAWAY:
            parsed = GoAwayFrame(0)
            parsed.parse_body(memoryview(payload))
            return parsed.error_code
    return None


__all__ = ["PREFACE", "H2Client", "RawClient", "Response", "frame", "goaway_code", "tls_context"]
