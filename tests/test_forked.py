"""forked.py: a function run in a forked child, its result pickled back; a child that raises or is killed
is a call that failed, and the child leaves the parent's signal handling alone."""

from __future__ import annotations

import os
import signal

import pytest

from hapair.forked import ForkedCall, ForkedCallError, reaped_child


def test_the_result_is_what_the_function_returned_in_the_child() -> None:
    call = ForkedCall(lambda a, *, b: (a, b, os.getpid()), 1, b="two")

    a, b, pid = call.result()

    assert (a, b) == (1, "two")
    assert pid != os.getpid()


def test_an_exception_in_the_child_is_a_failed_call_with_its_traceback() -> None:
    def broken() -> None:
        raise RuntimeError("the reader broke")

    with pytest.raises(ForkedCallError) as failed:
        ForkedCall(broken).result()

    assert str(failed.value).startswith("Traceback (most recent call last):")
    assert str(failed.value).endswith("RuntimeError: the reader broke")


def test_a_child_killed_by_a_signal_is_a_failed_call() -> None:
    with pytest.raises(ForkedCallError, match="killed by signal 9"):
        ForkedCall(lambda: os.kill(os.getpid(), signal.SIGKILL)).result()


def test_a_result_that_cannot_be_pickled_is_a_failed_call() -> None:
    with pytest.raises(ForkedCallError, match="Can't pickle"):
        ForkedCall(lambda: lambda: None).result()


def test_the_child_leaves_the_parents_signal_handlers_and_wakeup_descriptor() -> None:
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous_handler = signal.signal(signal.SIGHUP, lambda signum, frame: None)
    previous_fd = signal.set_wakeup_fd(write_end)
    try:
        in_child = ForkedCall(
            lambda: (signal.getsignal(signal.SIGHUP) is signal.SIG_DFL, signal.set_wakeup_fd(-1))
        ).result()
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGHUP, previous_handler)
        os.close(read_end)
        os.close(write_end)

    assert in_child == (True, -1)


class _UnreadableError(Exception):
    def __init__(self, text: str, place: int) -> None:  # pickled with `text` only: unpickling fails
        super().__init__(text)
        self.place = place


def test_a_result_that_cannot_be_unpickled_is_a_failed_call() -> None:
    with pytest.raises(ForkedCallError, match="the child's result cannot be read: TypeError"):
        ForkedCall(lambda: _UnreadableError("text", 1)).result()


def test_a_calls_child_is_known_once_waited_for() -> None:
    call = ForkedCall(os.getpid)
    child = call.result()

    assert reaped_child(child)
    assert not reaped_child(os.getpid())


def test_a_child_that_cannot_be_made_is_a_failed_call_that_leaves_no_descriptor(monkeypatch) -> None:
    def no_fork() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    before = sorted(os.listdir("/proc/self/fd"))

    with pytest.raises(ForkedCallError, match="no child process: Resource temporarily unavailable"):
        ForkedCall(os.getpid)
    assert sorted(os.listdir("/proc/self/fd")) == before
