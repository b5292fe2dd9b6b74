"""What `ssl_preread` reads of a TLS ClientHello (ngx_stream_ssl_preread_module), without I/O.

`ClientHelloReader.feed(buffer)` is given everything the client has sent so far (the preread buffer) each
time more arrives, and says, as nginx's preread handler does:

- `AGAIN`: more bytes are needed;
- `DONE`: the ClientHello was read as far as nginx reads it; `hello` holds the protocol version, the
  server name (SNI) and the ALPN protocols;
- `DECLINED`: not a ClientHello nginx can read (not a handshake record, not TLS, a malformed message);
  `hello` is then None, and nginx's `$ssl_preread_*` variables are "not found".

The reading is nginx's, quirks included, because the same bytes must route the same way:

- Records are looked at one at a time, from their 5-byte header, and a record is read only once it has
  arrived whole. A record starting as an SSLv2 ClientHello ends the reading at once with its version.
  Anything else but a handshake record of major version 3 declines.
- The handshake message is read across records as one stream of bytes: its header (type 1 or decline),
  client_version, random, session_id, cipher_suites, compression_methods, then the extensions up to the
  message's length. Reading a field past that length declines; the message ending at a field boundary
  is the end.
- Of the extensions: server_name (only its first name, which must be of type host_name, and whose length
  must fit the list's), ALPN (each protocol non-empty and within the list's length; joined by `,`), and
  supported_versions, whose presence alone makes the protocol TLSv1.3; the others are skipped.
- Debian's nginx 1.22.1 (1.22.1-9+deb12u12, the oracle) carries a security fix that validates the
  extensions (CVE-2026-123640, from nginx 1.30.7), seen on the wire as: the extensions' length must be
  what is left of the message; a second server_name or ALPN extension declines (a second
  supported_versions, or any other extension twice, does not); the server_name and ALPN lists and the
  supported_versions list must fill their extension exactly, and the supported_versions list must have
  two bytes at least.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

_RECORD_HEADER = 5
_HANDSHAKE = 0x16
_CLIENT_HELLO = 1
_SERVER_NAME, _ALPN, _SUPPORTED_VERSIONS = 0, 16, 43
_HOST_NAME = 0
_TLS13 = (3, 4)
_PROTOCOLS = {
    (0, 2): "SSLv2",
    (3, 0): "SSLv3",
    (3, 1): "TLSv1",
    (3, 2): "TLSv1.1",
    (3, 3): "TLSv1.2",
    (3, 4): "TLSv1.3",
}


class Verdict(Enum):
    AGAIN = "again"
    DONE = "done"
    DECLINED = "declined"


@dataclass(slots=True)
class Hello:
    """What was read of a ClientHello (nginx's preread context): values as they stood when reading ended."""

    version: tuple[int, int] = (0, 0)
    server_name: bytes | None = None  # None: no server_name extension reached
    alpn: bytearray | None = None  # None: no ALPN extension reached

    @property
    def protocol(self) -> str:
        """`$ssl_preread_protocol`: SSL_get_version()'s text, "" for a version it has no name for."""
        return _PROTOCOLS.get(self.version, "")


class _DeclinedError(Exception):
    """The message is not one nginx reads."""


@dataclass(slots=True)
class _Field:
    """The field being read: `size` more bytes, collected when `keep`, then `then` runs with them."""

    size: int
    then: Callable[[bytes], None]
    keep: bool = True
    data: bytearray = field(default_factory=bytearray)


class _HandshakeReader:
    """The ClientHello message, as a stream of bytes taken from successive records."""

    __slots__ = ("_ext", "_extension_length", "_field", "_left", "done", "hello")

    def __init__(self, hello: Hello) -> None:
        self.hello = hello
        self.done = False
        self._left = 4  # bytes of the message left to read (the header's, until it gives the length)
        self._ext = 0  # bytes left in the server_name or ALPN list being read
        self._extension_length = 0  # the length of the extension being read
        self._field = _Field(4, self._header)

    def feed(self, data: bytes) -> None:
        """Read `data`; sets `done` when the message was read as far as nginx reads it (_DeclinedError: not
        a ClientHello nginx reads)."""
        view = memoryview(data)
        while not self.done:
            current = self._field
            taken = view[: current.size]
            if current.keep:
                current.data += taken
            current.size -= len(taken)
            self._left -= len(taken)
            view = view[len(taken) :]
            if current.size:
                return  # more bytes needed
            current.then(bytes(current.data))
            if not self.done and self._left < self._field.size:
                raise _DeclinedError("failed to parse handshake")

    def _next(self, size: int, then: Callable[[bytes], None], *, keep: bool = True) -> None:
        self._field = _Field(size, then, keep)

    def _skip(self, size: int, then: Callable[[bytes], None]) -> None:
        self._next(size, then, keep=False)

    def _header(self, data: bytes) -> None:
        if data[0] != _CLIENT_HELLO:
            raise _DeclinedError("not a client hello")
        self._left = int.from_bytes(data[1:4], "big")
        self._next(2, self._version)

    def _version(self, data: bytes) -> None:
        self.hello.version = (data[0], data[1])
        self._skip(32, lambda _: self._next(1, self._session_id_length))

    def _session_id_length(self, data: bytes) -> None:
        self._skip(data[0], lambda _: self._next(2, self._cipher_suites_length))

    def _cipher_suites_length(self, data: bytes) -> None:
        self._skip(int.from_bytes(data, "big"), lambda _: self._next(1, self._compression_length))

    def _compression_length(self, data: bytes) -> None:
        self._skip(data[0], self._after_compression)

    def _after_compression(self, _: bytes) -> None:
        if self._left == 0:
            self.done = True  # no extensions
            return
        self._next(2, self._extensions_length)

    def _extensions_length(self, data: bytes) -> None:
        if int.from_bytes(data, "big") != self._left:
            raise _DeclinedError("extensions length")
        self._extension_end(data)

    def _extension_end(self, _: bytes) -> None:
        """After an extension (or the extensions' length): the message's end, or the next extension."""
        if self._left == 0:
            self.done = True
            return
        self._next(4, self._extension_header)

    def _extension_header(self, data: bytes) -> None:
        kind = int.from_bytes(data[0:2], "big")
        self._extension_length = int.from_bytes(data[2:4], "big")
        if kind == _SERVER_NAME:
            if self.hello.server_name is not None:
                raise _DeclinedError("duplicate server_name")
            self._next(2, self._server_name_list)
        elif kind == _ALPN:
            if self.hello.alpn is not None:
                raise _DeclinedError("duplicate ALPN")
            self._next(2, self._alpn_list)
        elif kind == _SUPPORTED_VERSIONS:
            self._next(1, self._supported_versions)
        else:
            self._skip(self._extension_length, self._extension_end)

    def _list_length(self, data: bytes) -> int:
        """A list's length, which must fill its extension after the length itself."""
        length = int.from_bytes(data, "big")
        if len(data) + length != self._extension_length:
            raise _DeclinedError("list length")
        return length

    def _server_name_list(self, data: bytes) -> None:
        self._ext = self._list_length(data)
        self._next(3, self._server_name_head)

    def _server_name_head(self, data: bytes) -> None:
        if data[0] != _HOST_NAME:
            raise _DeclinedError("SNI hostname type is not DNS")
        size = int.from_bytes(data[1:3], "big")
        if self._ext < 3 + size:
            raise _DeclinedError("SNI format error")
        self._ext -= 3 + size
        self.hello.server_name = b""
        self._next(size, self._server_name)

    def _server_name(self, data: bytes) -> None:
        self.hello.server_name = data
        self._skip(self._ext, self._extension_end)  # the list's other names

    def _alpn_list(self, data: bytes) -> None:
        self._ext = self._list_length(data)
        self.hello.alpn = bytearray()
        self._next(1, self._alpn_protocol_length)

    def _alpn_protocol_length(self, data: bytes) -> None:
        size = data[0]
        if size == 0:
            raise _DeclinedError("ALPN empty protocol")
        if self._ext < 1 + size:
            raise _DeclinedError("ALPN format error")
        self._ext -= 1 + size
        self._next(size, self._alpn_protocol)

    def _alpn_protocol(self, data: bytes) -> None:
        alpn = self.hello.alpn
        assert alpn is not None
        alpn += data
        if self._ext:
            alpn += b","
            self._next(1, self._alpn_protocol_length)
        else:
            self._skip(0, self._extension_end)

    def _supported_versions(self, data: bytes) -> None:
        if self._list_length(data) < 2:
            raise _DeclinedError("supported_versions")
        self.hello.version = _TLS13
        self._skip(data[0], self._extension_end)


class ClientHelloReader:
    """nginx's preread handler for one connection: `feed` the whole buffer read so far each time."""

    __slots__ = ("_handshake", "_position", "hello", "verdict")

    def __init__(self) -> None:
        self.hello: Hello | None = Hello()
        self._handshake = _HandshakeReader(self.hello)
        self._position = 0  # where the next record starts in the buffer
        self.verdict = Verdict.AGAIN

    def feed(self, buffer: bytes | bytearray) -> Verdict:
        if self.verdict is Verdict.AGAIN:
            self.verdict = self._records(buffer)
            if self.verdict is Verdict.DECLINED:
                self.hello = None
        return self.verdict

    def _records(self, buffer: bytes | bytearray) -> Verdict:
        hello = self.hello
        assert hello is not None
        position = self._position
        while len(buffer) - position >= _RECORD_HEADER:
            head = buffer[position : position + _RECORD_HEADER]
            if head[0] & 0x80 and head[2] == 1 and head[3] in (0, 3):
                hello.version = (head[3], head[4])  # an SSLv2 ClientHello
                return Verdict.DONE
            if head[0] != _HANDSHAKE or head[1] != 3:
                return Verdict.DECLINED
            end = position + _RECORD_HEADER + int.from_bytes(head[3:5], "big")
            if len(buffer) < end:
                break  # a record is read once it has arrived whole
            try:
                self._handshake.feed(bytes(buffer[position + _RECORD_HEADER : end]))
            except _DeclinedError:
                return Verdict.DECLINED
            if self._handshake.done:
                return Verdict.DONE
            position = end
        self._position = position
        return Verdict.AGAIN
