"""The daemon's signal handlers are in place before anything slow happens: a signal that came during
start-up would otherwise get its default action, and SIGRTMIN+2's (a keepalived.json dump) ends the
process."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterator

import pytest

from hapair.vrrp.daemon import EXIT_CONFIG, SIGJSON, DaemonOptions, VrrpDaemon

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, SIGJSON)


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {signum: signal.getsignal(signum) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def test_every_signal_is_handled_before_the_configuration_is_read(monkeypatch, restored_handlers):
    while_reading: dict[int, object] = {}

    def read(daemon: VrrpDaemon) -> int:
        while_reading.update({signum: signal.getsignal(signum) for signum in SIGNALS})
        return EXIT_CONFIG  # a configuration that cannot run: the daemon ends there

    monkeypatch.setattr(VrrpDaemon, "_read", read)
    daemon = VrrpDaemon(DaemonOptions(config="/nonexistent/keepalived.conf"), logging.getLogger("test"))

    assert asyncio.run(daemon.run()) == EXIT_CONFIG
    assert set(while_reading) == set(SIGNALS)
    assert [s for s, handler in while_reading.items() if handler in (signal.SIG_DFL, None)] == []
