"""A request body read whole before it goes upstream (nginx's `proxy_request_buffering on`, its default):
kept in memory up to `client_body_buffer_size`, then written to a temporary file in
`client_body_temp_path`, as nginx does. The upstream sees the request only once its body is complete
and valid, and a retry on the next peer sends it again.

Files are written synchronously, as nginx writes them; a file that cannot be made or written fails the
request with 500 (nginx's answer), and is logged.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from .tempfiles import TemporaryFile

_READ_SIZE = 64 * 1024


class BodyFileError(OSError):
    """The temporary file of a body could not be made or written."""


class BufferedBody:
    """The pieces of a body, in memory or in a temporary file once larger than `memory_limit`."""

    __slots__ = ("_directory", "_file", "_memory_limit", "_pieces", "size")

    def __init__(self, memory_limit: int, directory: str) -> None:
        self._memory_limit = memory_limit
        self._directory = directory
        self._pieces: list[bytes] = []
        self._file: TemporaryFile | None = None
        self.size = 0

    def add(self, data: bytes) -> None:
        """Keep `data`; raises BodyFileError when it must go to a file that cannot be written."""
        self.size += len(data)
        if self._file is None and self.size <= self._memory_limit:
            self._pieces.append(data)
            return
        try:
            if self._file is None:
                self._file = self._open()
                for piece in self._pieces:
                    self._file.write(piece)
                self._pieces.clear()
            self._file.write(data)
        except OSError as error:
            raise BodyFileError(error.errno, f"{error.strerror}: {self._directory}") from error

    def _open(self) -> TemporaryFile:
        os.makedirs(self._directory, mode=0o700, exist_ok=True)
        return TemporaryFile(self._directory)

    @property
    def in_file(self) -> bool:
        return self._file is not None

    def chunks(self) -> Iterator[bytes]:
        """The body from its start, in pieces (each call starts again: a retry sends it again)."""
        if self._file is None:
            yield from self._pieces
            return
        self._file.flush()
        fd = self._file.fileno()
        offset = 0
        while offset < self.size:
            chunk = os.pread(fd, _READ_SIZE, offset)
            if not chunk:
                return
            offset += len(chunk)
            yield chunk

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._pieces.clear()
