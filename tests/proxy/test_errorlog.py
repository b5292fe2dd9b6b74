"""Error log lines: each written at its own nginx level, to the targets whose level it reaches, also when
it goes through `logging` to the main error log."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from hapair.config.nginx.model.logging import ErrorLevel, ErrorLog
from hapair.config.nginx.model.place import Place
from hapair.proxy.errorlog import ErrorLogHandler, ErrorLogWriter, log_loop_errors, to_main_log

PLACE = Place("nginx.conf", 1)


@pytest.fixture
def main_log(tmp_path: Path):
    path = tmp_path / "error.log"
    writer = ErrorLogWriter((ErrorLog(str(path), ErrorLevel.NOTICE, (), PLACE),))
    handler = ErrorLogHandler(writer)
    logger = logging.getLogger("hapair.proxy")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        writer.close()


def test_lines_for_the_main_log_keep_their_nginx_level(main_log: Path) -> None:
    for level in (ErrorLevel.ALERT, ErrorLevel.ERROR, ErrorLevel.NOTICE, ErrorLevel.INFO):
        to_main_log(level, f"a {level.value} line")
    levels = [
        re.search(r"\[(\w+)\] \d+#\d+: a (\w+) line$", line) for line in main_log.read_text().splitlines()
    ]
    assert [(m.group(1), m.group(2)) for m in levels if m] == [
        ("alert", "alert"),
        ("error", "error"),
        ("notice", "notice"),
    ]


def test_a_plain_logging_record_is_mapped_to_the_nearest_nginx_level(main_log: Path) -> None:
    logging.getLogger("hapair.proxy.stream.service").critical("accept() failed (24: Too many open files)")
    assert main_log.read_text().split("] ")[0].endswith("[crit")


def test_what_escapes_a_callback_goes_to_the_error_log_with_its_traceback(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    writer = ErrorLogWriter((ErrorLog(str(path), ErrorLevel.ERROR, (), PLACE),))

    def faulty() -> None:
        raise KeyError("a bug")

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        log_loop_errors(loop, writer)
        loop.call_soon(faulty)
        await asyncio.sleep(0)

    asyncio.run(scenario())
    writer.close()
    text = path.read_text()
    assert "[alert]" in text and "Traceback" in text and "KeyError: 'a bug'" in text
