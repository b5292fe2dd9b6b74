"""One connection to an upstream peer: an asyncio.Protocol reading responses as nginx's proxy module
does (ngx_http_proxy_process_status_line, _process_header, the input filters).

A connection serves one request at a time (`bind`), then goes back to its pool when the response was
read whole and both sides keep the connection. The response goes to the request's `Proxying` as it
comes: the head (`upstream_head`), body pieces (`upstream_body`), the end (`upstream_done`), or a failure
(`upstream_failed`); after each read what was gathered is written to the client at once (`flush`).
After a `101 Switching Protocols` to a request with an `Upgrade` header the connection is a raw relay
(`tunnel`); to one without, the 101 is a response like another.

The head: the status line and header lines with nginx's grammar (parse.py; a bare LF ends a line, a
name may have `_`), within nginx's default `proxy_buffer_size` (4k: "upstream sent too big header").
1xx responses but 101 are skipped. The body: none for HEAD, 204 and 304; the chunks when
Transfer-Encoding names `chunked`; else `Content-Length` bytes; else (or when Content-Length is not a
number, which nginx ignores) up to the close. Where nginx 1.22 would take a response framed two ways
(Content-Length values that differ, Content-Length with chunks), hapair refuses it (502): that is a
desynchronisation vector on a kept connection, and hapair keeps upstream connections.
"""

from __future__ import annotations

import asyncio
import errno
import os
from enum import Enum
from typing import TYPE_CHECKING, Final, cast

from hapair.proxy.balancer import Peer

from .flow import FlowControl
from .memo import keep
from .parse import (
    HTTP_11,
    ChunkedBody,
    ChunkError,
    RequestError,
    fields,
    lower_name,
    parse_content_length,
    parse_header_line,
    parse_status_line,
)
from .timers import IdleTimer

if TYPE_CHECKING:
    from .pool import ConnectionPool, PoolKey
    from .proxying import Proxying


class Failure(Enum):
    """Why an upstream did not give a response (proxy_next_upstream's conditions)."""

    ERROR = "error"
    TIMEOUT = "timeout"
    INVALID_HEADER = "invalid_header"


class Framing(Enum):
    """How the response body ends."""

    NONE = "none"  # no body: HEAD, 1xx, 204, 304
    LENGTH = "length"
    CHUNKED = "chunked"
    CLOSE = "close"  # read until the upstream closes


TIMED_OUT: Final = f"upstream timed out ({errno.ETIMEDOUT}: {os.strerror(errno.ETIMEDOUT)})"
# the response headers that frame the body, by lower-case name
_CONTENT_LENGTH, _TRANSFER_ENCODING, _CONNECTION = range(3)
_FRAMING_HEADERS: Final = {
    b"content-length": _CONTENT_LENGTH,
    b"transfer-encoding": _TRANSFER_ENCODING,
    b"connection": _CONNECTION,
}
_FRAMING_LENGTHS: Final = frozenset(len(name) for name in _FRAMING_HEADERS)
HEAD_LIMIT: Final = 4096  # nginx's default proxy_buffer_size: the response head must fit in it
_INVALID_HEADER: Final = "upstream sent invalid header while reading response header from upstream"
_TOO_BIG_HEADER: Final = "upstream sent too big header while reading response header from upstream"
_INVALID_CHUNKS: Final = "upstream sent invalid chunked response while reading upstream"
_NO_CHUNKS: Final = ChunkedBody()


class _InvalidHeadError(Exception):
    """A response head nginx (or hapair, stricter) refuses: 502, with nginx's error-log text."""

    def __init__(self, text: str = _INVALID_HEADER) -> None:
        super().__init__(text)
        self.text = text


class UpstreamConnection(asyncio.Protocol):
    """Per-connection state first, then the state of the response being read."""

    __slots__ = (
        "_chunks",
        "_close",
        "_framing",
        "_head",
        "_head_done",
        "_head_limit",
        "_headers",
        "_left",
        "_loop",
        "_read_timer",
        "_send_timer",
        "_skip_body",
        "_status",
        "_status_line",
        "_upgrade",
        "closed",
        "flow",
        "key",
        "peer",
        "pool",
        "proxying",
        "requests",
        "reused",
        "transport",
        "tunnel",
    )

    def __init__(
        self, loop: asyncio.AbstractEventLoop, peer: Peer, key: PoolKey, pool: ConnectionPool
    ) -> None:
        self._loop = loop
        self.peer = peer
        self.key = key
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.flow: FlowControl | None = None
        self.proxying: Proxying | None = None
        self.closed = False
        self.reused = False
        self.tunnel = False
        self.requests = 0
        self._read_timer = IdleTimer(loop, self._read_timed_out)
        self._send_timer = IdleTimer(loop, self._send_timed_out)
        self._skip_body = False
        self._upgrade = False
        self._head_limit = HEAD_LIMIT
        self._reset_response()

    def _reset_response(self) -> None:
        self._head = b""  # the head read so far, while it is not whole
        self._head_done = False
        self._status = 0
        self._status_line = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._framing = Framing.CLOSE
        self._left = 0  # body bytes still to come (Content-Length)
        self._chunks = _NO_CHUNKS  # the chunked body being read
        self._close = False  # the upstream closes after this response (Connection: close, HTTP/1.0)

    # -- the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        self.transport = transport
        self.flow = FlowControl(transport)

    def set_limits(self, high_water: int) -> None:
        assert self.transport is not None
        self.transport.set_write_buffer_limits(high=high_water)

    def bind(self, proxying: Proxying, *, skip_body: bool, upgrade: bool, head_limit: int) -> None:
        """Serve `proxying`, whose request is about to be written (`upgrade`: it has an Upgrade
        header, so that a 101 makes this connection a tunnel); its response head may take `head_limit`
        bytes at most (proxy_buffer_size)."""
        self.proxying = proxying
        self.requests += 1
        self._reset_response()
        self._skip_body = skip_body
        self._upgrade = upgrade
        self._head_limit = head_limit

    def expect_response(self, read_timeout: float) -> None:
        """The whole request is written: the read timeout runs from now (and between reads)."""
        if not self._read_timer.running and not (self.flow is not None and self.flow.read_paused):
            self._read_timer.start(read_timeout)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def release(self) -> None:
        """The proxying is over with this connection."""
        self.proxying = None
        self._read_timer.stop()
        self._send_timer.stop()

    def close(self) -> None:
        self.release()
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        proxying = self.proxying
        if proxying is None:
            # an idle connection that speaks: it cannot be reused
            self.close()
            return
        self._read_timer.touch()
        if self.tunnel:
            proxying.tunnel_to_client(data)
            return
        pos = 0
        if not self._head_done:
            try:
                pos = self._read_head(data)
            except _InvalidHeadError as error:
                proxying.upstream_failed(self, Failure.INVALID_HEADER, error.text)
                return
            if pos < 0:
                return
            framing = self._framing
            proxying.upstream_head(self, self._status, self._status_line, self._headers, framing)
            if framing is Framing.NONE and not self.tunnel and self.proxying is proxying:
                # no body: done with the head; bytes after it make the connection unfit to keep
                proxying.upstream_done(
                    self, reusable=not self._close and not self.closed and pos == len(data)
                )
        if pos < len(data) and self.proxying is proxying:
            self._read_body(data, pos)
        proxying.flush()

    def eof_received(self) -> bool | None:
        proxying = self.proxying
        if proxying is not None and self.tunnel:
            proxying.tunnel_eof(from_client=False)
            return True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._read_timer.cancel()
        self._send_timer.cancel()
        self.pool.forget(self)
        proxying = self.proxying
        if proxying is None:
            return
        if self.tunnel:
            proxying.tunnel_closed()
        elif self._head_done and self._framing is Framing.CLOSE:
            proxying.upstream_done(self, reusable=False)
            proxying.flush()
        else:
            if isinstance(exc, OSError) and exc.errno is not None:
                cause = f"recv() failed ({exc.errno}: {exc.strerror})"
            else:
                cause = "upstream prematurely closed connection"
            proxying.upstream_failed(self, Failure.ERROR, f"{cause} while {self._reading()}")

    def pause_writing(self) -> None:
        assert self.flow is not None
        self.flow.write_paused = True
        if self.proxying is not None:
            self._send_timer.start(self.proxying.send_timeout)
            self.proxying.upstream_full()

    def resume_writing(self) -> None:
        assert self.flow is not None
        self.flow.write_paused = False
        self._send_timer.stop()
        if self.proxying is not None:
            self.proxying.upstream_drained()

    def pause_reading(self) -> None:
        """The client cannot take more: no read timeout while we do not read (nginx's neither)."""
        assert self.flow is not None
        self.flow.pause_reading()
        self._read_timer.stop()

    def resume_reading(self, read_timeout: float) -> None:
        assert self.flow is not None
        if self.flow.read_paused:
            self.flow.resume_reading()
            self._read_timer.start(read_timeout)

    def _reading(self) -> str:
        """What nginx's error log says the connection was doing while it read."""
        return "reading upstream" if self._head_done else "reading response header from upstream"

    def _read_timed_out(self) -> None:
        if self.proxying is not None:
            self.proxying.upstream_failed(self, Failure.TIMEOUT, f"{TIMED_OUT} while {self._reading()}")

    def _send_timed_out(self) -> None:
        if self.proxying is not None:
            self.proxying.upstream_failed(
                self, Failure.TIMEOUT, f"{TIMED_OUT} while sending request to upstream"
            )

    # -- the response head

    def _read_head(self, data: bytes) -> int:
        """Read the head from `data` (after what came before); returns where the body starts in
        `data`, or -1 when the head is not whole yet."""
        if not self._head:
            end = data.find(b"\r\n\r\n")
            if 0 <= end <= self._head_limit - 4:
                self._parse_head(data[: end + 4])
                if not 100 <= self._status < 200 or self._status == 101:
                    self._head_done = True
                    return end + 4
                self._reset_response()  # 100 Continue and the like: read below, and skipped
        head = self._head + data if self._head else data
        offset = len(self._head)
        while True:
            end = _head_end(head)
            if end < 0:
                if len(head) >= self._head_limit:
                    raise _InvalidHeadError(_TOO_BIG_HEADER)
                self._head = head
                return -1
            if end > self._head_limit:
                raise _InvalidHeadError(_TOO_BIG_HEADER)
            self._parse_head(head[:end])
            if not 100 <= self._status < 200 or self._status == 101:
                break
            head = head[end:]  # 100 Continue and the like: skipped
            offset -= end
            self._reset_response()
        self._head = b""
        self._head_done = True
        return end - offset

    def _parse_head(self, head: bytes) -> None:
        """The status line and the header lines (the head ends with its empty line), and how the body
        ends (ngx_http_proxy_input_filter_init)."""
        facts = _head_facts(head)
        status = facts.status
        self._status, self._status_line = status, facts.status_line
        self._headers = list(facts.headers)  # the connection's own: the one kept is not changed
        close = facts.close
        self.tunnel = status == 101 and self._upgrade
        if self._skip_body or self.tunnel or status in (204, 304):
            framing = Framing.NONE
        elif facts.chunked:
            self._chunks = ChunkedBody()
            framing = Framing.CHUNKED
        else:
            self._left = facts.length
            if self._left > 0:
                framing = Framing.LENGTH
            elif self._left == 0:
                framing = Framing.NONE
            else:
                framing = Framing.CLOSE
                close = True  # no length nginx understands: the body ends with the connection
        self._close = close
        self._framing = framing

    # -- the response body

    def _read_body(self, data: bytes, pos: int) -> None:
        proxying = self.proxying
        assert proxying is not None
        framing = self._framing
        if self.tunnel:
            proxying.tunnel_to_client(data[pos:])
            return
        if framing is Framing.CLOSE:
            proxying.upstream_body(data[pos:] if pos else data)
            return
        if framing is Framing.LENGTH:
            left = self._left
            end = min(len(data), pos + left)
            proxying.upstream_body(data if end - pos == len(data) else data[pos:end])
            self._left = left - (end - pos)
            if self._left:
                return
        else:
            pieces: list[bytes] = []
            try:
                end = self._chunks.feed(data, pos, pieces)
            except ChunkError:
                proxying.upstream_failed(self, Failure.ERROR, _INVALID_CHUNKS)
                return
            for piece in pieces:
                proxying.upstream_body(piece)
            if not self._chunks.done:
                return
        if self.proxying is proxying:
            # bytes after the response ("upstream sent more data than specified"): not kept
            reusable = not self._close and not self.closed and end == len(data)
            self._framing = Framing.NONE
            proxying.upstream_done(self, reusable=reusable)

    def remember_tls(self) -> None:
        """Keep the TLS session of a connection that worked, for the next one to this peer."""
        if self.transport is None:
            return
        context = self.key.tls
        if context is not None:
            context.remember(self.transport.get_extra_info("ssl_object"))


class _HeadFacts:
    """What a response head says by itself, whatever the request: its status line, its header lines,
    the length it gives (-1: none nginx understands), whether it is chunked, whether it closes the
    connection (HTTP/1.0, `Connection: close`)."""

    __slots__ = ("chunked", "close", "headers", "length", "status", "status_line")

    def __init__(
        self,
        status: int,
        status_line: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        length: int,
        chunked: bool,
        close: bool,
    ) -> None:
        self.status = status
        self.status_line = status_line
        self.headers = headers
        self.length = length
        self.chunked = chunked
        self.close = close


# response heads read lately, by their bytes (emptied when full): an upstream sends the same head again
# and again (its Date changes once a second), and reading one costs ten times the lookup
_READ_HEADS: Final[dict[bytes, _HeadFacts]] = {}
_READ_HEADS_KEPT: Final = 64
_READ_HEAD_SIZE: Final = 1024  # longer heads are read each time


def _head_facts(head: bytes) -> _HeadFacts:
    """_InvalidHeadError for a head nginx (or hapair) refuses."""
    if len(head) > _READ_HEAD_SIZE:
        return _read_facts(head)
    facts = _READ_HEADS.get(head)
    if facts is None:
        facts = _read_facts(head)
        keep(_READ_HEADS, head, facts, _READ_HEADS_KEPT)
    return facts


def _read_facts(head: bytes) -> _HeadFacts:
    eol = head.find(b"\n")
    status, status_line, version = parse_status_line(head[:eol])
    if not status:
        raise _InvalidHeadError(
            "upstream sent no valid HTTP/1.0 header while reading response header from upstream"
        )
    headers = None
    if head.endswith(b"\r\n\r\n"):
        headers = fields(head, eol + 1, len(head) - 2, underscores=True)
    if headers is None:
        headers = _header_lines(head[eol + 1 :])
    length: bytes | None = None
    chunked = False
    close = version < HTTP_11
    for name, value in headers:
        if len(name) not in _FRAMING_LENGTHS:
            continue  # not one of them, known without lowering the name
        kind = _FRAMING_HEADERS.get(lower_name(name))
        if kind is None:
            continue
        if kind == _CONTENT_LENGTH:
            if length is not None and value != length:
                raise _InvalidHeadError  # nginx 1.22 takes the last length: hapair refuses
            length = value
        elif kind == _TRANSFER_ENCODING:
            chunked = value == b"chunked" or value.lower().find(b"chunked") >= 0
        elif value != b"keep-alive" and value.lower().find(b"close") >= 0:  # the usual value at once
            close = True
    if chunked and length is not None:
        raise _InvalidHeadError  # nginx 1.22 takes the chunks: hapair refuses
    number = -1 if length is None else parse_content_length(length)
    return _HeadFacts(status, status_line, headers, length=number, chunked=chunked, close=close)


def _header_lines(lines: bytes) -> list[tuple[bytes, bytes]]:
    """Header lines read one by one (the head's end included); _InvalidHeadError where nginx finds
    one invalid. Lines starting `HTTP/` are skipped (IIS may repeat its status line, nginx skips it)."""
    headers = []
    for line in lines.split(b"\n")[:-2]:
        line = line.rstrip(b"\r")
        if line.startswith(b"HTTP/"):
            continue
        try:
            header = parse_header_line(line, underscores=True)
        except RequestError as error:
            raise _InvalidHeadError from error
        headers.append((header.name, header.value))
    return headers


def _head_end(head: bytes) -> int:
    """Where a response head ends (after its empty line), or -1."""
    cr = head.find(b"\n\r\n")
    lf = head.find(b"\n\n")
    if cr < 0:
        return lf + 2 if lf >= 0 else -1
    if lf < 0 or cr < lf:
        return cr + 3
    return lf + 2
