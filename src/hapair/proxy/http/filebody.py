"""Sending an opened file as a response body, with flow control: at no time is more of the file in
memory than one read (`output_buffers`' size) and what the client's transport holds.

With `sendfile on`, on a plain TCP or unix connection, when no filter changes the body (no gzip, no
chunking), the bytes go from the file to the socket with `os.sendfile` and never enter Python. uvloop
has no way to wait for a socket that a transport owns to become writable, and sendfile may only write
while the transport's own buffer is empty (what it holds must go first). So the transport's write limits
are set to zero while the file is sent: the connection is told `pause_writing` as soon as the transport
holds anything and `resume_writing` once it has sent all of it. sendfile writes what the socket takes;
when the socket is full, the next piece of the file (16 KiB) is read and written through the transport,
which holds it and says `pause_writing`; on `resume_writing` sendfile goes on. A slow client thus costs
one such piece of memory. Each turn writes at most `sendfile_max_chunk` before the other connections of
the worker get theirs (nginx's reason for it). `tcp_nopush on` corks the socket (TCP_CORK) from the head
to the end of the body, so that the head and the file's first bytes share packets.

Otherwise (TLS, `sendfile off`, a filter on the body), the file is read in pieces of `output_buffers`'
size and written through the transport, reading stopping while the transport holds more than its
high-water mark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from typing import TYPE_CHECKING

from hapair.config.nginx.errors import os_error_text
from hapair.config.nginx.model.logging import ErrorLevel

from .files import SENDING, log_request_error
from .ranges import BodyPart, BodyParts

if TYPE_CHECKING:
    from .exchange import Exchange

PROBE_SIZE = 16 * 1024  # what is written through the transport when the socket is full
_UNLIMITED = 1 << 62


class FileBody:
    """The content of a request answered with a file (the `Content` an exchange talks to): it sends
    `parts` of the file `fd` once the head is queued, then ends the response; it closes `fd`."""

    __slots__ = (
        "_after",
        "_chunk",
        "_corked",
        "_end_offset",
        "_ex",
        "_fd",
        "_offset",
        "_out_fd",
        "_parts",
        "_path",
        "_paused",
        "_pending",
        "_read_size",
        "_scheduled",
        "_sock",
        "closed",
    )
    buffering = True  # the file is read ahead of the client: a body filter need not flush after each read

    def __init__(self, ex: Exchange, fd: int, path: str) -> None:
        self._ex = ex
        self._fd = fd
        self._path = path
        self._parts: list[BodyPart] = []
        self._after = b""
        self._pending = b""  # a part's boundary, not written yet
        self._offset = self._end_offset = 0
        self._paused = False
        self._scheduled = False
        self._out_fd = -1  # the socket sendfile writes to (-1: no sendfile)
        self._sock: socket.socket | None = None
        self._corked = False
        settings = ex.route.files.settings
        self._read_size = settings.output_buffer_size
        self._chunk = settings.sendfile_max_chunk or _UNLIMITED
        self.closed = False

    def start(self, size: int, parts: BodyParts | None) -> None:
        """The head is queued: send the body (the whole file of `size` bytes, or the parts chosen)."""
        ex = self._ex
        if ex.header_only:
            self._end()
            return
        if parts is None:
            parts = BodyParts((BodyPart(b"", 0, size),), b"")
        self._parts = list(reversed(parts.parts))
        self._after = parts.after
        self._next_part()
        self._choose_socket()
        if self._out_fd >= 0 and ex.route.files.settings.tcp_nopush:
            self._cork(on=True)
        ex.flush()
        self._pump()

    def _choose_socket(self) -> None:
        """sendfile when it may write the body as it is, to a connection without TLS."""
        ex = self._ex
        client = ex.client
        transport = client.transport
        if not ex.route.files.settings.sendfile or not ex.body_as_is or client.ssl_object is not None:
            return
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None:
            return
        assert transport is not None
        self._sock = sock
        self._out_fd = sock.fileno()
        transport.set_write_buffer_limits(high=0)

    def _next_part(self) -> bool:
        if not self._parts:
            return False
        part = self._parts.pop()
        self._pending, self._offset, self._end_offset = part.before, part.start, part.end
        return True

    # -- the transport's flow

    def _pump(self) -> None:
        """Write until the transport holds something, the turn's share is written, or all is."""
        self._scheduled = False
        budget = self._chunk
        ex = self._ex
        while not self.closed and not self._paused:
            if self._pending:
                pending, self._pending = self._pending, b""
                ex.send_body(pending)
                ex.flush()
                continue
            if self._offset >= self._end_offset:
                if not self._next_part():
                    self._end()
                    return
                continue
            if budget <= 0:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._pump)
                return
            sent = self._send_some(budget)
            if sent < 0:
                return
            budget -= sent

    def _send_some(self, budget: int) -> int:
        """Some of the current part: with sendfile while the socket takes it, else read and written
        through the transport. -1 when the response had to stop."""
        remaining = self._end_offset - self._offset
        if self._out_fd >= 0:
            try:
                sent = os.sendfile(self._out_fd, self._fd, self._offset, min(remaining, budget))
            except BlockingIOError:
                sent = -2
            except OSError:
                self._abort()
                return -1
            if sent == 0:
                self._truncated(f'sendfile() reported that "{self._path}" was truncated at {self._offset}')
                return -1
            if sent > 0:
                self._offset += sent
                self._ex.bytes_sent += sent
                return sent
            return self._write_read(min(remaining, PROBE_SIZE))
        return self._write_read(min(remaining, self._read_size, budget))

    def _write_read(self, size: int) -> int:
        try:
            data = os.pread(self._fd, size, self._offset)
        except OSError as exc:
            log_request_error(
                self._ex, ErrorLevel.CRIT, f'pread() "{self._path}" failed {os_error_text(exc)}'
            )
            self._abort()
            return -1
        if len(data) < size:
            self._truncated(f'read() has read only {len(data)} of {size} from "{self._path}"')
            return -1
        self._offset += size
        self._ex.send_body(data)
        self._ex.flush()
        return size

    def _truncated(self, text: str) -> None:
        """The file became shorter than its length in the head: the connection is closed."""
        log_request_error(self._ex, ErrorLevel.ALERT, text, SENDING)
        self._abort()

    def client_full(self) -> None:
        self._paused = True

    def client_drained(self) -> None:
        self._paused = False
        if not self.closed and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._pump)

    # -- the end

    def _end(self) -> None:
        ex = self._ex
        if self._after:
            ex.send_body(self._after)
        self._release()
        ex.send_end()

    def _abort(self) -> None:
        self._release()
        self._ex.abort_response()

    def _release(self) -> None:
        if self.closed:
            return
        self.closed = True
        os.close(self._fd)
        if self._out_fd >= 0:
            if self._corked:
                self._cork(on=False)
            transport = self._ex.client.transport
            if transport is not None and not transport.is_closing():
                transport.set_write_buffer_limits(high=self._ex.route.high_water)

    def _cork(self, *, on: bool) -> None:
        """TCP_CORK (nginx's tcp_nopush on Linux); a unix socket has none."""
        self._corked = on
        if self._sock is not None and self._sock.family != socket.AF_UNIX:
            with contextlib.suppress(OSError):
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, int(on))

    # -- the request body, which a file does not want: dropped as it comes

    def body(self, data: bytes) -> None:
        pass

    def body_done(self) -> None:
        pass

    def client_lost(self) -> None:
        self._release()

    def request_broken(self) -> None:
        self._release()

    def body_too_large(self) -> None:
        self._release()

    def tunnel_from_client(self, data: bytes) -> bool:
        return False

    def tunnel_eof(self, *, from_client: bool) -> None:
        pass
