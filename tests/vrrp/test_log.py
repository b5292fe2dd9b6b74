"""The daemon's syslog lines: keepalived's facilities (-S), its ident, and the priority syslog(3) would
send (the facility's code shifted by 3, plus LOG_INFO)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from hapair.vrrp import log

LOG_INFO = 6


@pytest.fixture
def syslog_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        receiver.settimeout(10)
        monkeypatch.setattr(log, "SYSLOG_SOCKET", str(path))
        yield receiver
    log.configure_logging(console=False, syslog=False)  # the handler's socket is closed with it


@pytest.mark.parametrize(
    ("facility", "code"), [("daemon", 3), ("user", 1), ("local0", 16), ("5", 21), ("local7", 23)]
)
def test_syslog_lines_carry_the_facility_and_ident(
    syslog_socket: socket.socket, facility: str, code: int
) -> None:
    logger = log.configure_logging(console=False, syslog=True, facility=facility)
    logger.info("(VI_1) Entering MASTER STATE")
    line = syslog_socket.recv(4096).decode()
    assert line == f"<{code * 8 + LOG_INFO}>hapair_vrrp[{os.getpid()}]: (VI_1) Entering MASTER STATE\x00"
