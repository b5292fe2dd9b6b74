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

With `aio threads`, each read and each sendfile is a task of the location's thread pool (nginx 1.22 on
Linux does both in threads): the body waits for it and goes on in the loop once it is done. The file and
the socket (a duplicate of it) stay open while a thread may use them, so that a client gone meanwhile
cannot have its descriptor numbers reused under the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hapair.config.nginx.errors import os_error_text
from hapair.config.nginx.model.logging import ErrorLevel

from .files import SENDING, log_request_error
from .ranges import BodyPart, BodyParts

if TYPE_CHECKING:
    from .exchange import Exchange

PROBE_SIZE = 16 * 1024  # what is written through the transport when the socket is full
WAITING = -3  # _send_some's answer while a thread reads or sends
_UNLIMITED = 1 << 62


class FileBody:
    """The content of a request answered with a file (the `Content` an exchange talks to): it sends
    `parts` of the file `fd` once the head is queued, then ends the response; it closes `fd`."""

    __slots__ = (
        "_after",
        "_busy",
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
        "_pool",
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
        self._pool = ex.route.thread_pool
        self._busy = False  # a thread of the pool reads or sends for this body
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
        self._out_fd = sock.fileno() if self._pool is None else os.dup(sock.fileno())
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
        while not self.closed and not self._paused and not self._busy:
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
        through the transport. -1 when the response had to stop, WAITING while a thread works."""
        remaining = self._end_offset - self._offset
        if self._out_fd < 0:
            return self._read(min(remaining, self._read_size, budget))
        size = min(remaining, budget)
        if self._pool is not None:
            return self._in_thread(
                self._sendfile_done, os.sendfile, self._out_fd, self._fd, self._offset, size
            )
        try:
            sent = os.sendfile(self._out_fd, self._fd, self._offset, size)
        except BlockingIOError:
            sent = -2
        except OSError:
            self._abort()
            return -1
        return self._after_sendfile(sent)

    def _after_sendfile(self, sent: int) -> int:
        """What sendfile wrote (-2: nothing, the socket is full: a piece goes through the transport)."""
        if sent == 0:
            self._truncated(f'sendfile() reported that "{self._path}" was truncated at {self._offset}')
            return -1
        if sent > 0:
            self._offset += sent
            self._ex.bytes_sent += sent
            return sent
        return self._read(min(self._end_offset - self._offset, PROBE_SIZE))

    def _read(self, size: int) -> int:
        if self._pool is not None:
            return self._in_thread(
                lambda done: self._read_done(done, size), os.pread, self._fd, size, self._offset
            )
        try:
            data = os.pread(self._fd, size, self._offset)
        except OSError as exc:
            self._read_failed(exc)
            return -1
        return self._write_data(data, size)

    def _read_failed(self, exc: OSError) -> None:
        log_request_error(self._ex, ErrorLevel.CRIT, f'pread() "{self._path}" failed {os_error_text(exc)}')
        self._abort()

    # -- aio threads

    def _in_thread(
        self, done: Callable[[asyncio.Future[Any]], None], task: Callable[..., Any], *args: Any
    ) -> int:
        assert self._pool is not None
        self._busy = True
        if not self._pool.submit(self._ex.route.error_log, done, task, *args):
            self._busy = False
            self._abort()
            return -1
        return WAITING

    def _thread_over(self) -> bool:
        """A thread's task is done: False when the body was given up meanwhile (its descriptors are then
        closed now, the thread being done with them)."""
        self._busy = False
        if self.closed:
            self._close_descriptors()
            return False
        return True

    def _sendfile_done(self, done: asyncio.Future[Any]) -> None:
        if not self._thread_over():
            return
        try:
            sent = done.result()
        except BlockingIOError:
            sent = -2
        except (OSError, asyncio.CancelledError):  # cancelled: the worker is closing its pools
            self._abort()
            return
        if self._after_sendfile(sent) >= 0:
            self._pump()

    def _read_done(self, done: asyncio.Future[Any], size: int) -> None:
        if not self._thread_over():
            return
        try:
            data = done.result()
        except asyncio.CancelledError:
            self._abort()
            return
        except OSError as exc:
            self._read_failed(exc)
            return
        if self._write_data(data, size) >= 0:
            self._pump()

    def _write_data(self, data: bytes, size: int) -> int:
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
        if not self._busy:
            self._close_descriptors()
        if self._out_fd >= 0:
            if self._corked:
                self._cork(on=False)
            transport = self._ex.client.transport
            if transport is not None and not transport.is_closing():
                transport.set_write_buffer_limits(high=self._ex.route.high_water)

    def _close_descriptors(self) -> None:
        os.close(self._fd)
        if self._pool is not None and self._out_fd >= 0:
            os.close(self._out_fd)

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
