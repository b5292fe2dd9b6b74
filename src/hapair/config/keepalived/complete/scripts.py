"""Script security checks (keepalived's lib/notify.c `check_script_secure`), shared by every process.

keepalived looks a script up (a `PATH` search for a bare name), resolves it with `realpath` and checks it is
executable while temporarily running as the script's user; if the script then runs as root (or is set-uid/gid
root) every directory of its path must be unwritable by anyone but root. hapair asks the `Host` about files
with `lstat`/`readlink` only and does the path walking itself, so it can check what the script's user may
search without switching users. A relative path is taken from `/`, keepalived's working directory once it
runs as a daemon.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from ..host import FileStatus, Host
from ..model.scripts import (
    SC_EXECABLE,
    SC_EXECUTABLE,
    SC_INHIBIT,
    SC_INSECURE,
    SC_ISSCRIPT,
    SC_NOTFOUND,
    SC_SYSTEM,
    NotifyScript,
)
from .context import Completion

PATH_MAX = 4096
NAME_MAX = 255
MAXSYMLINKS = 40
# stat() failures that make a PATH search try the next directory (glibc's execvp)
_PATH_SEARCH_CONTINUES = {
    errno.ENOEXEC,
    errno.EACCES,
    errno.ENOENT,
    errno.ESTALE,
    errno.ENOTDIR,
    errno.ENODEV,
    errno.ETIMEDOUT,
}


class PathError(OSError):
    """A path lookup failed; `errno` says why, as the system call would."""

    def __init__(self, code: int) -> None:
        super().__init__(code, os.strerror(code))


def is_executable(status: FileStatus, uid: int, gid: int) -> bool:
    """keepalived's `is_executable`: root needs any x bit, others the bit for owner, group or other."""
    mode = status.mode
    if uid == 0:
        return bool(mode & 0o111)
    if uid == status.uid:
        return bool(mode & stat.S_IXUSR)
    return bool(mode & (stat.S_IXGRP if gid == status.gid else stat.S_IXOTH))


@dataclass(frozen=True)
class PathWalker:
    """Resolves paths as the user `uid`:`gid` would: its directories must be searchable by that user."""

    host: Host
    uid: int
    gid: int

    def _may_search(self, directory: FileStatus) -> bool:
        return self.uid == 0 or is_executable(directory, self.uid, self.gid)

    def realpath(self, path: str) -> str:
        """The canonical absolute path of an existing file (glibc `realpath`); raises PathError."""
        if not path:
            raise PathError(errno.ENOENT)
        pending = path.split("/")
        resolved = ""  # "" is "/"
        links = 0
        while pending:
            name = pending.pop(0)
            if name in ("", "."):
                continue
            if name == "..":
                resolved = resolved.rsplit("/", 1)[0]
                continue
            directory = self.host.lstat(resolved or "/")
            if directory is None:
                raise PathError(errno.ENOENT)
            if not self._may_search(directory):
                raise PathError(errno.EACCES)
            candidate = f"{resolved}/{name}"
            status = self.host.lstat(candidate)
            if status is None:
                raise PathError(errno.ENOENT)
            if stat.S_ISLNK(status.mode):
                links += 1
                target = self.host.readlink(candidate)
                if links > MAXSYMLINKS:
                    raise PathError(errno.ELOOP)
                if target is None:
                    raise PathError(errno.ENOENT)
                if target.startswith("/"):
                    resolved = ""
                pending[:0] = target.split("/")
                continue
            if not stat.S_ISDIR(status.mode) and pending:
                raise PathError(errno.ENOTDIR)
            resolved = candidate
        return resolved or "/"

    def stat(self, path: str) -> FileStatus:
        """`stat` (symbolic links followed) as this user; raises PathError."""
        status = self.host.lstat(self.realpath(path))
        if status is None:
            raise PathError(errno.ENOENT)
        return status


def _cannot_switch_user(completion: Completion, script: NotifyScript) -> bool:
    """keepalived switches to the script's user with seteuid/setegid: only root can."""
    users = completion.session.script_users
    return users.our_uid != 0 and (script.uid, script.gid) != (users.our_uid, users.our_gid)


def _find_path(completion: Completion, script: NotifyScript) -> int:
    """A bare name's PATH search (glibc's execvp, in keepalived's `find_path`): 0 and args[0] replaced by
    the file found, or an errno (-1 for an unexpected failure).

    keepalived 2.2.7 calls setgroups() after seteuid() to the script's user, which always fails, so its
    search for a script run by another user always ends in "Permissions failure"; hapair searches as that
    user, as intended."""
    name = script.args[0]
    if not name:
        return errno.ENOENT
    if len(name) >= PATH_MAX or len(name) > NAME_MAX:
        return errno.ENAMETOOLONG
    users = completion.session.script_users
    if _cannot_switch_user(completion, script):
        which, value = ("egid", script.gid) if script.gid != users.our_gid else ("euid", script.uid)
        completion.log(f"Unable to set {which} to {value} ({os.strerror(errno.EPERM)})")
        return errno.EACCES
    walker = PathWalker(completion.host, script.uid, script.gid)
    denied = False
    for directory in completion.host.search_path().split(":"):
        candidate = f"{directory}/{name}" if directory else name
        try:
            status = walker.stat(candidate if candidate.startswith("/") else f"/{candidate}")
        except PathError as err:
            if err.errno in _PATH_SEARCH_CONTINUES:
                continue
            return -1
        if stat.S_ISREG(status.mode) and is_executable(status, script.uid, script.gid):
            completion.log(
                f"WARNING - script `{name}` resolved by path search to `{candidate}`."
                " Please specify full path."
            )
            script.args[0] = candidate
            return 0
        denied = True
    return errno.EACCES if denied else errno.ENOENT


def _check_security(completion: Completion, filename: str, script_security: bool) -> int:
    """keepalived's `check_security`: `/`, each directory of `filename` and the file itself must be
    root's and not writable by others (a directory may be if it is sticky)."""
    start = 0
    while True:
        slash = filename.find("/", start)
        last = slash < 0
        part = filename if last else filename[: max(slash, 1)]
        start = slash + 1
        status = completion.host.lstat(part)
        if status is None:
            completion.log(f"check_script_secure could not find script '{filename}' - disabling")
            return SC_NOTFOUND
        mode = status.mode
        if (not last and not stat.S_ISDIR(mode)) or (last and not (stat.S_ISREG(mode) or stat.S_ISLNK(mode))):
            completion.log(f"Wrong file type found in script path '{filename}'.")
            return SC_INHIBIT
        writable_kind = (stat.S_ISDIR(mode) and not mode & stat.S_ISVTX) or stat.S_ISREG(mode)
        others_write = (status.gid and mode & stat.S_IWGRP) or mode & stat.S_IWOTH
        if status.uid or (writable_kind and others_write):
            disabling = " - disabling" if script_security else ""
            completion.log(f"Unsafe permissions found for script '{filename}'{disabling}.")
            return SC_INSECURE | (SC_INHIBIT if script_security else 0)
        if last:
            return 0


def _same_file(walker: PathWalker, path: str, real_path: str) -> bool:
    try:
        return walker.realpath(path) == real_path
    except PathError:
        return False


def check_script_secure(completion: Completion, script: NotifyScript) -> int:
    """Resolve and check `script` as keepalived does; updates its args[0] and flags; returns SC_* flags."""
    program = script.args[0]
    # "</dev/tcp/…" only checks a file can be opened: it is given to the shell, not executed
    if program.startswith("<") and program[1:].lstrip(" \t").startswith("/"):
        return SC_SYSTEM
    if "/" not in program:
        code = _find_path(completion, script)
        if code:
            reason = "Permissions failure for" if code == errno.EACCES else "Cannot find"
            completion.log(f"{reason} script {program} in path - disabling")
            return SC_NOTFOUND
    if _cannot_switch_user(completion, script):
        completion.log(
            f"Unable to set uid:gid {script.uid}:{script.gid} for script {script.args[0]} - disabling"
        )
        return SC_INHIBIT
    # keepalived 2.2.7 kills itself after this lookup under -t when the script has another user than
    # keepalived (its parent-pid check misfires: `-t` exits 143); hapair carries on with the check.
    as_user = PathWalker(completion.host, script.uid, script.gid)
    as_root = PathWalker(completion.host, 0, 0)
    path = script.args[0]
    try:
        new_path = as_user.realpath(path if path.startswith("/") else f"/{path}")
    except PathError as err:
        completion.log(f"Script {path} cannot be accessed - {err.strerror}")
        return SC_NOTFOUND
    real_path: str | None = None
    if path != new_path:
        # Keep the name the script was called by: some programs behave according to it
        name = path.rsplit("/", 1)[-1]
        directory, new_name = new_path.rsplit("/", 1)
        if name != new_name:
            real_path, new_path = new_path, f"{directory}/{name}"
            if not _same_file(as_root, new_path, real_path):
                new_path, real_path = real_path, None
        script.args[0] = new_path
    try:
        status = as_root.stat(real_path or script.args[0])
    except PathError:
        completion.log(f"Unable to access script `{script.args[0]}` - disabling")
        return SC_NOTFOUND
    flags = SC_ISSCRIPT
    needs_protection = False
    if is_executable(status, script.uid, script.gid):
        flags |= SC_EXECUTABLE
        mode = status.mode
        set_uid_root = status.uid == 0 and mode & stat.S_IXUSR and mode & stat.S_ISUID
        set_gid_root = status.gid == 0 and mode & stat.S_IXGRP and mode & stat.S_ISGID
        needs_protection = script.uid == 0 or script.gid == 0 or bool(set_uid_root or set_gid_root)
    else:
        completion.log(
            f"WARNING - script '{script.args[0]}' is not executable for uid:gid {script.uid}:{script.gid}"
            " - disabling."
        )
    script.flags |= SC_EXECABLE  # no libmagic in keepalived's build, so no "#!" check
    if not needs_protection:
        return flags
    security = completion.session.script_users.security
    flags |= _check_security(completion, script.args[0], security)
    if real_path is not None:
        flags |= _check_security(completion, real_path, security)
    return flags


def script_allowed(flags: int) -> bool:
    """Whether a checked script may run (keepalived frees it otherwise)."""
    return bool(flags & SC_EXECUTABLE) and not flags & (SC_INHIBIT | SC_NOTFOUND)
