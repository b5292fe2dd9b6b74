"""What a buffered response holds for a client slower than its upstream (nginx's event pipe under
`proxy_buffering on`): the body as it comes, in memory up to `proxy_buffers` (their number times their
size), then in a temporary file in `proxy_temp_path` up to `proxy_max_temp_file_size` written in all
(0: no file). Past that the upstream is not read until the client takes some. The client is given the
oldest bytes first: the file's, then memory's.

As nginx's, the file is written synchronously, only ever grows (what the client took is not written
again), and is removed when the response is over.
"""

from __future__ import annotations

import os
from collections import deque

from .tempfiles import TemporaryFile

_READ_SIZE = 64 * 1024


class SpoolFileError(OSError):
    """The temporary file could not be made or written."""


class ResponseSpool:
    __slots__ = (
        "_directory",
        "_file",
        "_file_limit",
        "_memory",
        "_memory_limit",
        "_memory_size",
        "_read_at",
        "_written",
        "file_name",
    )

    def __init__(self, memory_limit: int, file_limit: int, directory: str) -> None:
        self._memory_limit = memory_limit
        self._file_limit = file_limit
        self._directory = directory
        self._memory: deque[bytes] = deque()
        self._memory_size = 0
        self._file: TemporaryFile | None = None
        self._read_at = 0  # how much of the file the client has had
        self._written = 0  # how much was written to the file
        self.file_name: str | None = None  # set when the file is made

    @property
    def empty(self) -> bool:
        return not self._memory_size and self._read_at == self._written

    @property
    def full(self) -> bool:
        """Nothing more can be held: the upstream must wait."""
        return self._memory_size >= self._memory_limit and self._written >= self._file_limit

    def add(self, data: bytes) -> None:
        """Keep `data`; memory that is full goes to the file while the file may grow. Raises
        SpoolFileError when the file cannot be made or written."""
        self._memory.append(data)
        self._memory_size += len(data)
        if self._memory_size > self._memory_limit and self._written < self._file_limit:
            self._to_file()

    def _to_file(self) -> None:
        data = b"".join(self._memory)
        room = self._file_limit - self._written
        kept = data[room:]
        try:
            if self._file is None:
                self._file = self._open()
                self.file_name = self._file.name
            self._file.write(data[:room])
            self._file.flush()
        except OSError as error:
            raise SpoolFileError(error.errno, error.strerror, error.filename) from error
        self._written += len(data) - len(kept)
        self._memory.clear()
        self._memory_size = len(kept)
        if kept:
            self._memory.append(kept)

    def _open(self) -> TemporaryFile:
        os.makedirs(self._directory, mode=0o700, exist_ok=True)
        return TemporaryFile(self._directory)

    def take(self, limit: int) -> bytes:
        """Up to `limit` of the oldest bytes held."""
        if self._read_at < self._written:
            assert self._file is not None
            size = min(limit, self._written - self._read_at, _READ_SIZE)
            data = os.pread(self._file.fileno(), size, self._read_at)
            self._read_at += len(data)
            return data
        if not self._memory:
            return b""
        first = self._memory.popleft()
        if len(first) > limit:
            self._memory.appendleft(first[limit:])
            first = first[:limit]
        self._memory_size -= len(first)
        return first

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory.clear()
        self._memory_size = 0
        self._read_at = self._written = 0
