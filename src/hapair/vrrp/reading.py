"""The VRRP daemon reads its configuration in a child process, forked for each reading (start and reload).

The reader (its keyword tables, completion checks and parser) is 1.1 MB of the daemon's resident memory
that it would keep for good, and issue 15's budget for the whole daemon is 20 MB: a child imports the
reader, reads the files and sends the result back pickled (the model and the messages, about 7 kB for the
seed's file), then exits. At start the daemon imports its own modules meanwhile, on the other core. A
child that fails (an exception, a signal) makes a reading that failed, never a daemon that stops on a
reload."""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from hapair.config.keepalived.result import LoadResult


class ReadingError(Exception):
    """The child reading the configuration did not return a result; the text says why."""


class Reading:
    """One reading of `path` under way in a child process; `result()` waits for its end."""

    def __init__(self, path: str, config_id: str | None) -> None:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _read_and_exit(write_end, path, config_id)
        os.close(write_end)
        self._pid = pid
        self._pipe = read_end

    def result(self) -> LoadResult:
        with open(self._pipe, "rb") as pipe:
            sent = pipe.read()
        _, status = os.waitpid(self._pid, 0)
        if os.WIFSIGNALED(status):
            raise ReadingError(f"the reading process was killed by signal {os.WTERMSIG(status)}")
        outcome = pickle.loads(sent) if sent else "the reading process sent nothing"
        if isinstance(outcome, str):
            raise ReadingError(outcome)
        return outcome


def _read_and_exit(out: int, path: str, config_id: str | None) -> NoReturn:
    """The child: read, send the result (or the error's traceback as text), exit without running the
    daemon's exit handlers or flushing its buffers."""
    status = 0
    try:
        _default_signals()
        from hapair.config.keepalived.load import load  # noqa: PLC0415  (never in the daemon)
        from hapair.net.host import LocalHost  # noqa: PLC0415

        outcome: object = load(path, LocalHost(), config_id=config_id, config_test=False)
    except BaseException:  # whatever it is, the daemon is told and goes on
        outcome = traceback.format_exc().rstrip()
        status = 1
    try:
        with open(out, "wb") as pipe:
            pickle.dump(outcome, pipe, pickle.HIGHEST_PROTOCOL)
    finally:
        os._exit(status)


def _default_signals() -> None:
    """The daemon's signal handlers write to its event loop's wake-up descriptor, which the child shares:
    the child takes the signals' default actions instead, and leaves the descriptor alone."""
    signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals():
        if callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_DFL)
