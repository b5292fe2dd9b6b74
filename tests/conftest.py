"""A backstop for a test that hangs where pytest-timeout cannot end it.

pytest-timeout's signal method ends a test by raising in the main thread from a SIGALRM handler. The
kernel gives a process's SIGALRM to any of its threads: when the test has threads of its own (backends,
servers) and the main thread waits in a system call, the handler runs only once that call returns, which
may be never, and the run then hangs until CI's own limit, with nothing printed. A hang in one test then
costs the whole run its results. Here faulthandler's own C thread, armed for each test a minute past
pytest-timeout's limit, writes every thread's stack to the terminal and ends the run (exit status 1)."""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Generator

import pytest

_TERMINAL = pytest.StashKey[int]()
_GRACE_S = 60.0  # past pytest-timeout's limit, whose own failure comes first when it can


def pytest_configure(config: pytest.Config) -> None:
    # capture is suspended while plugins are configured: this is the real standard error
    config.stash[_TERMINAL] = os.dup(sys.stderr.fileno())


def pytest_unconfigure(config: pytest.Config) -> None:
    os.close(config.stash[_TERMINAL])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    limit = _timeout(item)
    if limit > 0:
        faulthandler.dump_traceback_later(limit + _GRACE_S, exit=True, file=item.config.stash[_TERMINAL])
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()


def _timeout(item: pytest.Item) -> float:
    """pytest-timeout's limit for the test: its marker's, else the configuration's (0: none)."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0] or 0)
    return float(item.config.getini("timeout") or 0)
