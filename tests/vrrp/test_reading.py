"""The VRRP daemon's configuration is read in a child process (vrrp/reading.py): the result is the reader's
own, the daemon's process never imports the reader, and a reading that failed is logged."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from hapair.config.keepalived import load as load_module
from hapair.net.host import LocalHost
from hapair.vrrp.reading import start_reading

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

    result = start_reading(str(SEED), None).result()

    assert result.config == expected.config
    assert [d.render() for d in result.report] == [d.render() for d in expected.report]
    assert (result.exit_status, result.stopped) == (expected.exit_status, expected.stopped)


def test_a_missing_file_is_a_reading_that_stopped(tmp_path: Path) -> None:
    result = start_reading(str(tmp_path / "missing.conf"), None).result()

    assert result.stopped
    assert any("missing.conf" in d.render() for d in result.report)


def test_the_daemons_process_does_not_import_the_reader() -> None:
    script = (
        "import json, sys\n"
        "from hapair.tlsless import import_asyncio_without_ssl\n"
        "import_asyncio_without_ssl()\n"
        "from hapair.vrrp.reading import start_reading\n"
        f"reading = start_reading({str(SEED)!r}, None)\n"
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
