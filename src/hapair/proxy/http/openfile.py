"""Opening and testing the files a request names, as nginx does without its open file cache
(ngx_open_cached_file with no cache, ngx_open_file_cache.c): the same system calls in the same order, so
that the kernel gives the same answers and the error log names the same call (`open()`, `openat()`,
`stat()`, `fstat()`).

With `disable_symlinks on` every component of the path is opened in turn from the one before
(`openat` with O_NOFOLLOW: a symbolic link fails with ELOOP, or ENOTDIR where a directory is searched);
`if_not_owner` follows a link only when it and its target have the same owner; `from=` starts that walk
below the given directory.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from hapair.config.nginx.model.files import Symlinks

_SEARCH = os.O_PATH | os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK  # NGX_FILE_SEARCH|NGX_FILE_NONBLOCK
_READ = os.O_RDONLY | os.O_NONBLOCK
_POSIX_FADV_SEQUENTIAL = 2
MIN_READ_AHEAD = 128 * 1024  # nginx's NGX_MIN_READ_AHEAD


class OpenError(Exception):
    """`failed` is the call nginx names (`open()`...); `code` the errno (0: nginx gives no error number)."""

    def __init__(self, failed: str, code: int) -> None:
        super().__init__(failed, code)
        self.failed = failed
        self.code = code

    def log_text(self, path: str) -> str:
        """nginx's `%s "%s" failed (errno: text)`."""
        return f'{self.failed} "{path}" failed ({self.code}: {os.strerror(self.code)})'


@dataclass(frozen=True, slots=True)
class SymlinkRule:
    """`disable_symlinks` for one path: `start` is the length of the part of the path taken as it is
    (`from=`), 0 for none."""

    symlinks: Symlinks
    start: int = 0


FOLLOW = SymlinkRule(Symlinks.OFF)


@dataclass(frozen=True, slots=True)
class FileInfo:
    """What nginx keeps of an opened or tested file; `fd` is -1 when no descriptor is kept (a test, a
    directory)."""

    fd: int
    size: int
    mtime: int
    is_dir: bool
    is_file: bool


def test_file(path: bytes, rule: SymlinkRule) -> FileInfo:
    """A file looked at but not opened (index, try_files): ngx_file_info_wrapper."""
    if rule.symlinks is Symlinks.OFF:
        try:
            return _info(os.stat(path), -1)
        except OSError as exc:
            raise OpenError("stat()", exc.errno or 0) from exc
    fd = _open(path, rule, _READ)
    try:
        return _info(os.fstat(fd), -1)
    except OSError as exc:
        raise OpenError("fstat()", exc.errno or 0) from exc
    finally:
        os.close(fd)


def open_file(path: bytes, rule: SymlinkRule, read_ahead: int) -> FileInfo:
    """A file opened to be sent (ngx_open_and_stat_file): a directory is not kept open."""
    fd = _open(path, rule, _READ)
    try:
        info = _info(os.fstat(fd), fd)
    except OSError as exc:
        os.close(fd)
        raise OpenError("fstat()", 0) from exc
    if info.is_dir:
        os.close(fd)
        return FileInfo(-1, info.size, info.mtime, info.is_dir, info.is_file)
    if read_ahead and info.size > MIN_READ_AHEAD:
        os.posix_fadvise(fd, 0, 0, _POSIX_FADV_SEQUENTIAL)  # ngx_read_ahead on Linux
    return info


def _info(result: os.stat_result, fd: int) -> FileInfo:
    mode = result.st_mode
    mtime = result.st_mtime_ns // 1_000_000_000
    return FileInfo(fd, result.st_size, mtime, stat.S_ISDIR(mode), stat.S_ISREG(mode))


def _open(path: bytes, rule: SymlinkRule, flags: int) -> int:
    """ngx_open_file_wrapper: each directory of the path opened from the one before (empty components
    skipped), then the file from the last."""
    if rule.symlinks is Symlinks.OFF:
        try:
            return os.open(path, flags)
        except OSError as exc:
            raise OpenError("open()", exc.errno or 0) from exc
    at_fd, position = _walk_start(path, rule)
    try:
        while True:
            slash = path.find(b"/", position)
            if slash < 0:
                break
            if slash == position:
                position += 1
                continue
            fd = _component(path[position:slash], at_fd, rule, _SEARCH)
            if at_fd is not None:
                os.close(at_fd)
            at_fd, position = fd, slash + 1
        if position == len(path):
            return _openat(b".", at_fd, flags)
        return _component(path[position:], at_fd, rule, flags)
    finally:
        if at_fd is not None:
            os.close(at_fd)


def _walk_start(path: bytes, rule: SymlinkRule) -> tuple[int | None, int]:
    """Where the walk starts: the `from=` directory, the root, or the working directory (None)."""
    if rule.start:
        try:
            return os.open(path[: rule.start], _SEARCH), rule.start + 1
        except OSError as exc:
            raise OpenError("open()", exc.errno or 0) from exc
    if path.startswith(b"/"):
        try:
            return os.open(b"/", _SEARCH), 1
        except OSError as exc:
            raise OpenError("openat()", exc.errno or 0) from exc
    return None, 0


def _component(name: bytes, at_fd: int | None, rule: SymlinkRule, flags: int) -> int:
    if rule.symlinks is Symlinks.IF_NOT_OWNER:
        return _openat_owner(name, at_fd, flags)
    return _openat(name, at_fd, flags | os.O_NOFOLLOW)


def _openat(name: bytes, at_fd: int | None, flags: int) -> int:
    try:
        return os.open(name, flags, dir_fd=at_fd)
    except OSError as exc:
        raise OpenError("openat()", exc.errno or 0) from exc


def _openat_owner(name: bytes, at_fd: int | None, flags: int) -> int:
    """ngx_openat_file_owner: the opened file and the name's own entry (a link, or not) must have the
    same owner."""
    fd = _openat(name, at_fd, flags)
    try:
        entry = os.stat(name, dir_fd=at_fd, follow_symlinks=False)
        opened = os.fstat(fd)
    except OSError as exc:
        os.close(fd)
        raise OpenError("openat()", exc.errno or 0) from exc
    if opened.st_uid != entry.st_uid:
        os.close(fd)
        raise OpenError("openat()", errno.ELOOP)
    return fd
