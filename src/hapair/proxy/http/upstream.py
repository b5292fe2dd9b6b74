"""One connection to an upstream peer: an asyncio.Protocol that is its response parser's callback target.

A connection serves one request at a time (`bind`), then goes back to its pool when the response was
read whole and both sides keep the connection. The parsed response goes to the request's `Proxying` as
it comes: the head (`upstream_head`), body pieces (`upstream_body`), the end (`upstream_done`), or a
failure (`upstream_failed`); after each read what was gathered is written to the client at once
(`flush`). After a `101 Switching Protocols` the connection is a raw relay (`tunnel`).
"""

from __future__ import annotations

import asyncio
import errno
import os
from enum import Enum
from typing import TYPE_CHECKING, cast

import httptools

from hapair.proxy.balancer import Peer

from .flow import FlowControl
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


TIMED_OUT = f"upstream timed out ({errno.ETIMEDOUT}: {os.strerror(errno.ETIMEDOUT)})"
_CONTENT_LENGTH = b"content-length"
_TRANSFER_ENCODING = b"transfer-encoding"


class HeadSize:
    """nginx reads a response head into a buffer of `proxy_buffer_size`: the head, read in any number of
    pieces, must end (its blank line) within that many bytes."""

    __slots__ = ("_limit", "_seen", "_tail")

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._seen = 0  # bytes of the head read so far
        self._tail = b""  # their last three, where the blank line may begin

    def fits(self, data: bytes) -> bool:
        """Whether the head still fits once `data` is read."""
        tail = self._tail
        if tail:
            end = (tail + data[:3]).find(b"\r\n\r\n")
            if end >= 0:
                return self._seen - len(tail) + end + 4 <= self._limit
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            return self._seen + end + 4 <= self._limit
        self._seen += len(data)
        self._tail = (tail + data)[-3:] if len(data) < 3 else data[-3:]
        return self._seen < self._limit


class UpstreamConnection(asyncio.Protocol):
    """Per-connection state first, then the state of the response being read."""

    __slots__ = (
        "_chunked",
        "_done",
        "_has_length",
        "_head_done",
        "_head_size",
        "_headers",
        "_informational",
        "_loop",
        "_parser",
        "_read_timer",
        "_reason",
        "_send_timer",
        "_skip_body",
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
        self._parser = httptools.HttpResponseParser(self)
        self._read_timer = IdleTimer(loop, self._read_timed_out)
        self._send_timer = IdleTimer(loop, self._send_timed_out)
        self._head_size = HeadSize(0)
        self._reset_response()

    def _reset_response(self) -> None:
        self._headers: list[tuple[bytes, bytes]] = []
        self._reason = b""
        self._head_done = False
        self._done = False
        self._has_length = False
        self._chunked = False
        self._skip_body = False
        self._informational = False

    # -- the connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports are not its subclasses
        self.transport = transport
        self.flow = FlowControl(transport)

    def set_limits(self, high_water: int) -> None:
        assert self.transport is not None
        self.transport.set_write_buffer_limits(high=high_water)

    def bind(self, proxying: Proxying, *, skip_body: bool, head_limit: int) -> None:
        """Serve `proxying`, whose request is about to be written; its response head may take
        `head_limit` bytes at most (proxy_buffer_size)."""
        self.proxying = proxying
        self.requests += 1
        self._reset_response()
        self._skip_body = skip_body
        self._head_size = HeadSize(head_limit)

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
        if not self._head_done and not self._head_size.fits(data):
            text = "upstream sent too big header while reading response header from upstream"
            proxying.upstream_failed(self, Failure.INVALID_HEADER, text)
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._switch_to_tunnel(data[exc.args[0] :])
        except httptools.HttpParserCallbackError:
            raise  # a bug of ours, not the upstream's: the loop's handler logs it, with its cause
        except httptools.HttpParserError:
            self._malformed()
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
        elif self._head_done and not self._done and not self._has_length and not self._chunked:
            self._done = True
            proxying.upstream_done(self, reusable=False)
            proxying.flush()
        elif not self._done:
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

    def _malformed(self) -> None:
        proxying = self.proxying
        if proxying is None:
            return
        if self._head_done:
            proxying.upstream_failed(
                self, Failure.ERROR, "upstream sent invalid response body while reading upstream"
            )
        else:
            text = "upstream sent invalid header while reading response header from upstream"
            proxying.upstream_failed(self, Failure.INVALID_HEADER, text)

    def _switch_to_tunnel(self, rest: bytes) -> None:
        """After a 101 head, the bytes that came with it, after the head."""
        if rest and self.proxying is not None:
            self.proxying.tunnel_to_client(rest)

    # -- httptools callbacks

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head_done:
            return  # a trailer of a chunked body: not passed on, as nginx
        lower = name.lower()
        if lower == _CONTENT_LENGTH:
            self._has_length = True
        elif lower == _TRANSFER_ENCODING:
            self._chunked = b"chunked" in value.lower()
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self._informational = True  # 100 Continue and the like: skipped
            return
        self._head_done = True
        self.tunnel = status == 101
        proxying = self.proxying
        if proxying is None:
            return
        framing = self._framing(status)
        proxying.upstream_head(self, status, self._reason, self._headers, framing)
        if self._skip_body and self.proxying is not None:
            # a response to HEAD: llhttp would wait for the body Content-Length announces
            self._done = True
            reusable = self._reusable()
            self._parser = httptools.HttpResponseParser(self)
            self.proxying.upstream_done(self, reusable=reusable)

    def _framing(self, status: int) -> Framing:
        if self._skip_body or status in (101, 204, 304):
            return Framing.NONE
        if self._chunked:
            return Framing.CHUNKED
        if self._has_length:
            return Framing.LENGTH
        return Framing.CLOSE

    def on_body(self, body: bytes) -> None:
        if self.proxying is not None and not self._done:
            self.proxying.upstream_body(body)

    def on_message_complete(self) -> None:
        if self._informational:
            self._reset_response()
            return
        if self._done or self.tunnel or self.proxying is None:
            return
        self._done = True
        self.proxying.upstream_done(self, reusable=self._reusable())

    def _reusable(self) -> bool:
        return self._parser.should_keep_alive() and not self.closed and not self.tunnel

    def remember_tls(self) -> None:
        """Keep the TLS session of a connection that worked, for the next one to this peer."""
        if self.transport is None:
            return
        context = self.key.tls
        if context is not None:
            context.remember(self.transport.get_extra_info("ssl_object"))
