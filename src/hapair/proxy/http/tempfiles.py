"""The temporary files of request bodies (`client_body_temp_path`) and buffered responses
(`proxy_temp_path`), made as `tempfile.NamedTemporaryFile(dir=directory, prefix="")` makes them: a new
name made with O_EXCL in the directory, only its owner's, opened for reading and writing, removed when
closed (or when dropped unclosed). Without the tempfile module, which imports shutil and with it the
bz2, lzma and fnmatch modules: 0.42 MB of each idle worker's memory (issue 15's budget is 25 MB).

The name is 12 hex digits from the kernel's random source (os.urandom), read for each file: a random
generator seeded in the master would be copied into every worker it forks, so that all of them would try
the same names in the same order (tempfile reseeds its own after a fork for that reason)."""

from __future__ import annotations

import os
from typing import BinaryIO

_NAME_BYTES = 6  # 48 random bits, 12 hex digits
_ATTEMPTS = 10000  # tempfile.TMP_MAX
_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def _random_name() -> str:
    return os.urandom(_NAME_BYTES).hex()


class TemporaryFile:
    """A temporary file in `directory`; FileExistsError if no free name was found, OSError if it cannot
    be made."""

    __slots__ = ("_closed", "file", "name")

    def __init__(self, directory: str) -> None:
        self._closed = True  # until made: __del__ has nothing to remove
        directory = os.path.abspath(directory)
        for _ in range(_ATTEMPTS):
            name = os.path.join(directory, _random_name())
            try:
                fd = os.open(name, _FLAGS, 0o600)
            except FileExistsError:
                continue
            break
        else:
            raise FileExistsError("No usable temporary file name found")
        try:
            self.file: BinaryIO = open(fd, "w+b")  # noqa: SIM115 (closed by close())
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        self.name = name
        self._closed = False

    def write(self, data: bytes) -> int:
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()

    def fileno(self) -> int:
        return self.file.fileno()

    def close(self) -> None:
        """Close the file and remove it (once)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.file.close()
        finally:
            os.unlink(self.name)

    def __del__(self) -> None:
        self.close()
