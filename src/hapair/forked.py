"""A function run in a forked child process, its result sent back pickled: how the daemons read their
configuration files.

A reader (keepalived's keyword tables and completion checks, nginx's directive handlers and merges) is
memory a daemon would otherwise keep for good (1.2 MB of the VRRP daemon's resident memory, 1.5 MB of the
proxy master's and of each worker it forks; issue 15's budgets are 20 and 25 MB): the child imports it,
reads, sends back the model and the messages (7 kB for the seed's files) and exits. The caller may go on
meanwhile (the VRRP daemon imports its own modules while its first reading runs on the other core). A
child that fails (an exception, a signal) is a call that failed, never a daemon that stops on a reload."""

from __future__ import annotations

import os
import signal
import traceback

# pickle's dumps and loads are these, its C accelerator's (pickle.py re-exports them); the rest of the
# pickle module, its pure-Python pickler, is 0.2 MB of the VRRP daemon's memory (issue 15's budget)
from _pickle import dumps, loads
from collections import deque
from collections.abc import Callable
from typing import Generic, NoReturn, ParamSpec, TypeVar

Result = TypeVar("Result")
Args = ParamSpec("Args")
HIGHEST_PROTOCOL = -1  # (a negative protocol is the highest)


# the children of calls, already waited for: the proxy's master logs every SIGCHLD as nginx's does, and
# nginx's master reads its configuration itself, so that such a child's SIGCHLD is no news there
_REAPED: deque[int] = deque(maxlen=64)


def reaped_child(pid: int) -> bool:
    """Whether `pid` was the child of one of this process's calls (waited for by `result()`)."""
    return pid in _REAPED


class ForkedCallError(Exception):
    """The child did not return a result, or could not be made; the text says why (the child's traceback,
    if it raised)."""


class ForkedCall(Generic[Result]):
    """`function(*args, **kwargs)` under way in a child process; `result()` waits for its end."""

    def __init__(self, function: Callable[Args, Result], *args: Args.args, **kwargs: Args.kwargs) -> None:
        try:
            read_end, write_end = os.pipe()
        except OSError as error:
            raise ForkedCallError(f"no pipe to a child process: {error.strerror}") from error
        try:
            pid = os.fork()
        except OSError as error:
            os.close(read_end)
            os.close(write_end)
            raise ForkedCallError(f"no child process: {error.strerror}") from error
        if pid == 0:
            os.close(read_end)
            _call_and_exit(write_end, lambda: function(*args, **kwargs))
        os.close(write_end)
        self._pid = pid
        self._pipe = read_end

    def result(self) -> Result:
        try:
            with open(self._pipe, "rb") as pipe:
                sent = pipe.read()
            _, status = os.waitpid(self._pid, 0)
        except OSError as error:
            raise ForkedCallError(f"the child process was lost: {error.strerror}") from error
        _REAPED.append(self._pid)
        if os.WIFSIGNALED(status):
            raise ForkedCallError(f"the child process was killed by signal {os.WTERMSIG(status)}")
        try:
            returned, raised = loads(sent) if sent else (None, "the child process sent nothing")
        except Exception as error:  # an object whose class cannot be made again from what was pickled
            raise ForkedCallError(f"the child's result cannot be read: {error!r}") from error
        if raised is not None:
            raise ForkedCallError(raised)
        return returned


def _call_and_exit(out: int, call: Callable[[], object]) -> NoReturn:
    """The child: call, send (what it returned, None) or (None, the traceback as text: of the call, or
    of pickling what it returned), exit without running the parent's exit handlers or flushing its
    buffers."""
    status = 0
    try:
        _default_signals()
        sent = dumps((call(), None), HIGHEST_PROTOCOL)
    except BaseException:  # whatever it is, the parent is told and goes on
        sent = dumps((None, traceback.format_exc().rstrip()), HIGHEST_PROTOCOL)
        status = 1
    try:
        with open(out, "wb") as pipe:
            pipe.write(sent)
    finally:
        os._exit(status)


def _default_signals() -> None:
    """The parent's signal handlers write to its event loop's wake-up descriptor, which the child shares:
    the child takes the signals' default actions instead, and leaves the descriptor alone."""
    signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals():
        if callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_DFL)
