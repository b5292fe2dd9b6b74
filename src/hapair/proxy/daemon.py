"""`daemon on`: the command forks the master into the background as nginx's ngx_daemon does (setsid,
umask 0, stdin and stdout to /dev/null; stderr is left to the master, which points it at the error log
once it has started) and waits until the master serves: its exit status says whether the start
succeeded, where nginx's command returns 0 as soon as it has forked."""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Callable


def daemonized(serve: Callable[[Notify], int]) -> int:
    """ngx_daemon, waiting for the master to serve: the command's exit status (0 once the daemon says it
    serves, 1 if it ends before)."""
    sys.stdout.flush()
    sys.stderr.flush()
    answer, tell = os.pipe2(os.O_CLOEXEC)
    if os.fork() != 0:
        os.close(tell)
        with os.fdopen(answer, "rb") as pipe:
            return 0 if pipe.read() == b"ok" else 1
    os.close(answer)
    os.setsid()
    os.umask(0)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    code = 1
    try:
        code = serve(Notify(tell))
    except BaseException:  # the daemon must never return into the command's code
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


class Notify:
    """The write end of the pipe the command waits on until the daemon serves. Only the master holds it:
    a worker closes it, so that the command sees the end of a daemon that dies."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def ready(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):  # the command may be gone (its terminal closed...)
            os.write(self.fd, b"ok")
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
