"""Stream access log lines from session records (pure)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.config.nginx.model.logging import LogEscape, LogFormat
from hapair.config.nginx.model.templates import Capture, Literal, Template, Variable
from hapair.proxy.stream.logline import (
    SessionRecord,
    StreamCondition,
    StreamLogLine,
    UpstreamAttempt,
    balancing_key,
    time_iso8601,
    time_local,
)

from .helpers import PLACE, template

SEED_FORMAT = (
    "[$time_local] $remote_addr:$remote_port $server_addr:$server_port "
    "$protocol $status $bytes_sent $bytes_received $session_time"
)
LOGGED_AT = 1700000000.25  # 2023-11-14 22:13:20.250 UTC


@pytest.fixture
def timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time 5:30 east of UTC, restored afterwards."""
    monkeypatch.setenv("TZ", "<+0530>-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def record(**changes: object) -> SessionRecord:
    values: dict[str, object] = {
        "connection": 7,
        "remote_addr": "127.0.0.1",
        "remote_port": "40000",
        "remote_binary": bytes([127, 0, 0, 1]),
        "server_addr": "127.0.0.1",
        "server_port": "8080",
        "status": 200,
        "bytes_sent": 12,
        "bytes_received": 34,
        "session_ms": 1234,
        "logged_at": LOGGED_AT,
        "upstreams": [UpstreamAttempt("127.0.0.1:9000", 1, 3, 1230, 34, 12)],
    }
    values.update(changes)
    return SessionRecord(**values)  # type: ignore[arg-type]


def render(source: str, rec: SessionRecord, escape: LogEscape = LogEscape.DEFAULT) -> str:
    line = StreamLogLine(LogFormat("f", escape, template(source), PLACE), hostname="lb-1", pid=42).line(rec)
    assert line.endswith(b"\n")
    return line[:-1].decode("latin-1")


def test_seed_format_renders_as_nginx(timezone: None) -> None:
    assert render(SEED_FORMAT, record()) == (
        "[15/Nov/2023:03:43:20 +0530] 127.0.0.1:40000 127.0.0.1:8080 TCP 200 12 34 1.234"
    )


def test_times_and_process_values(timezone: None) -> None:
    assert render("$msec $time_iso8601 $connection $pid $hostname $nginx_version", record()) == (
        "1700000000.250 2023-11-15T03:43:20+05:30 7 42 lb-1 1.22.1"
    )


def test_status_and_session_time_are_zero_padded() -> None:
    assert render("$status $session_time", record(status=502, session_ms=5)) == "502 0.005"


def test_upstream_values_list_every_try() -> None:
    tries = [UpstreamAttempt("127.0.0.1:1", session_ms=2), UpstreamAttempt("127.0.0.1:2", 1, 4, 2001, 10, 20)]
    source = (
        "$upstream_addr|$upstream_connect_time|$upstream_first_byte_time|$upstream_session_time|"
        "$upstream_bytes_sent|$upstream_bytes_received"
    )
    assert render(source, record(upstreams=tries)) == (
        "127.0.0.1:1, 127.0.0.1:2|-, 0.001|-, 0.004|0.002, 2.001|0, 10|0, 20"
    )


def test_upstream_values_without_any_try_are_missing() -> None:
    source = "$upstream_addr $upstream_bytes_sent"
    assert render(source, record(upstreams=[])) == "- -"
    assert render(source, record(upstreams=[]), LogEscape.JSON) == " "


def test_binary_address_is_escaped_byte_by_byte() -> None:
    assert render("$binary_remote_addr", record()) == "\\x7F\\x00\\x00\\x01"
    assert render("$binary_remote_addr", record(), LogEscape.NONE) == "\x7f\x00\x00\x01"


def test_non_ascii_hostname_is_escaped_as_its_utf8_bytes() -> None:
    line = StreamLogLine(LogFormat("f", LogEscape.DEFAULT, template("$hostname"), PLACE), hostname="é", pid=1)
    assert line.line(record()) == b"\\xC3\\xA9\n"


def test_condition_holds_unless_empty_or_zero() -> None:
    condition = StreamCondition(template("$upstream_addr"), hostname="h", pid=1)
    assert condition.holds(record())
    assert not condition.holds(record(upstreams=[]))
    assert not StreamCondition(template("0"), hostname="h", pid=1).holds(record())


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_time_local_is_strftimes_common_log_format(seconds: float) -> None:
    assert time_local(seconds) == time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(seconds))


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_time_iso8601_is_iso_with_a_colon_in_the_offset(seconds: float) -> None:
    local = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))
    assert time_iso8601(seconds) == local[:-2] + ":" + local[-2:]


@given(st.integers(min_value=0, max_value=10**9))
def test_session_time_is_seconds_with_milliseconds(ms: int) -> None:
    text = render("$session_time", record(session_ms=ms))
    assert re.fullmatch(r"\d+\.\d{3}", text)
    assert int(text.replace(".", "")) == ms


def test_a_hash_key_is_its_literal_text_in_utf8_and_the_values_bytes() -> None:
    key = Template(
        "é$remote_addr:$server_port$1$upstream_addr/$binary_remote_addr",
        (
            Literal("é"),
            Variable("remote_addr"),
            Literal(":"),
            Variable("server_port"),
            Capture(1),
            Variable("upstream_addr"),
            Literal("/"),
            Variable("binary_remote_addr"),
        ),
    )
    starting = record(upstreams=[], remote_addr="10.0.0.200", remote_binary=bytes([10, 0, 0, 200]))
    assert balancing_key(key, starting) == b"\xc3\xa910.0.0.200:8080/\x0a\x00\x00\xc8"
