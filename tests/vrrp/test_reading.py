"""The VRRP daemon's configuration is read in a child process (vrrp/reading.py): the result is the reader's
own, the daemon's process never imports the reader, and a child that fails makes a reading that failed."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hapair.config.keepalived import load as load_module
from hapair.net.host import LocalHost
from hapair.vrrp.reading import Reading, ReadingError

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "src" / "hapair" / "lab" / "seed" / "node1" / "keepalived.conf"
READER_MODULES = {
    "hapair.config.keepalived.load",
    "hapair.config.keepalived.engine",
    "hapair.config.keepalived.reader",
    "hapair.config.keepalived.keywords",
    "hapair.config.keepalived.complete",
}


def test_a_reading_gives_what_the_reader_gives() -> None:
    expected = load_module.load(str(SEED), LocalHost(), config_test=False)

    result = Reading(str(SEED), None).result()

    assert result.config == expected.config
    assert [d.render() for d in result.report] == [d.render() for d in expected.report]
    assert (result.exit_status, result.stopped) == (expected.exit_status, expected.stopped)


def test_a_missing_file_is_a_reading_that_stopped(tmp_path: Path) -> None:
    result = Reading(str(tmp_path / "missing.conf"), None).result()

    assert result.stopped
    assert any("missing.conf" in d.render() for d in result.report)


def test_an_exception_in_the_child_is_a_failed_reading_with_its_traceback(monkeypatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the reader broke")

    monkeypatch.setattr(load_module, "load", broken)  # the child is forked with it patched

    with pytest.raises(ReadingError) as failed:
        Reading(str(SEED), None).result()
    assert "Traceback" in str(failed.value)
    assert str(failed.value).endswith("RuntimeError: the reader broke")


def test_a_child_killed_by_a_signal_is_a_failed_reading(monkeypatch) -> None:
    monkeypatch.setattr(load_module, "load", lambda *args, **kwargs: os.kill(os.getpid(), signal.SIGKILL))

    with pytest.raises(ReadingError, match="killed by signal 9"):
        Reading(str(SEED), None).result()


def test_the_child_leaves_the_parents_signal_handlers_and_wakeup_descriptor(monkeypatch) -> None:
    def handlers_in_child(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"{signal.getsignal(signal.SIGHUP) is signal.SIG_DFL} {signal.set_wakeup_fd(-1)}")

    monkeypatch.setattr(load_module, "load", handlers_in_child)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    previous_handler = signal.signal(signal.SIGHUP, lambda signum, frame: None)
    previous_fd = signal.set_wakeup_fd(write_end)
    try:
        with pytest.raises(ReadingError) as failed:
            Reading(str(SEED), None).result()
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGHUP, previous_handler)
        os.close(read_end)
        os.close(write_end)
    assert str(failed.value).endswith("RuntimeError: True -1")


def test_the_daemons_process_does_not_import_the_reader() -> None:
    script = (
        "import json, sys\n"
        "from hapair.tlsless import import_asyncio_without_ssl\n"
        "import_asyncio_without_ssl()\n"
        "from hapair.vrrp.reading import Reading\n"
        f"reading = Reading({str(SEED)!r}, None)\n"
        "import hapair.vrrp.daemon\n"
        "result = reading.result()\n"
        "print(json.dumps([result.exit_status, sorted(sys.modules)]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, env=env, timeout=60
    )

    assert done.returncode == 0, done.stderr
    status, modules = json.loads(done.stdout)
    assert status == load_module.load(str(SEED), LocalHost(), config_test=False).exit_status
    assert "hapair.vrrp.daemon" in modules
    assert not READER_MODULES & set(modules)


def test_the_daemon_logs_a_failed_reading_and_gives_the_configuration_status(monkeypatch, caplog) -> None:
    from hapair.vrrp.daemon import EXIT_CONFIG, DaemonOptions, VrrpDaemon  # noqa: PLC0415

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the reader broke")

    monkeypatch.setattr(load_module, "load", broken)
    daemon = VrrpDaemon(DaemonOptions(config=str(SEED)), logging.getLogger("test-reading"))

    with caplog.at_level(logging.INFO, logger="test-reading"):
        assert daemon._read() == EXIT_CONFIG
    lines = [record.getMessage() for record in caplog.records]
    assert lines[0] == f"Configuration {SEED} cannot be read - Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: the reader broke"
