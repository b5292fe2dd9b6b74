"""The stream variables (pure): nginx's values as its access log lines print them, what a session keeps
once evaluated, and the variables `map`, `split_clients` and `set` make."""

from __future__ import annotations

import re
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hapair.config.nginx.load import load
from hapair.config.nginx.model.logging import LogEscape
from hapair.config.nginx.model.stream import StreamConfig
from hapair.config.nginx.model.templates import Capture, Literal, Template, Variable
from hapair.proxy.http.split_clients import murmur_hash2
from hapair.proxy.logformat import ByteFormat, LineFormat
from hapair.proxy.stream.clienthello import Hello
from hapair.proxy.stream.variables import (
    BalancingKey,
    StreamVariables,
    UpstreamAttempt,
    time_iso8601,
    time_local,
)
from tests.config.nginx.conftest import LabSystem

from .helpers import FakeSession, template

SEED_FORMAT = (
    "[$time_local] $remote_addr:$remote_port $server_addr:$server_port "
    "$protocol $status $bytes_sent $bytes_received $session_time"
)
PREREAD = "$ssl_preread_server_name|$ssl_preread_protocol|$ssl_preread_alpn_protocols"


@pytest.fixture
def timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time 5:30 east of UTC, restored afterwards."""
    monkeypatch.setenv("TZ", "<+0530>-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def render(
    source: str,
    session: FakeSession,
    escape: LogEscape = LogEscape.DEFAULT,
    variables: StreamVariables | None = None,
) -> str:
    """The line through the variables' texts, and checked against the one rendered straight into bytes
    (what an access log writes)."""
    variables = variables or StreamVariables(hostname="lb-1", pid=42)
    line_format = LineFormat(template(source), escape)
    line = line_format.bind(variables.getter).render_bytes(session)
    assert line.endswith(b"\n")
    assert ByteFormat(line_format, variables.log_value).render_bytes(session) == line
    return line[:-1].decode("latin-1")


def test_seed_format_renders_as_nginx(timezone: None) -> None:
    assert render(SEED_FORMAT, FakeSession()) == (
        "[15/Nov/2023:03:43:20 +0530] 127.0.0.1:40000 127.0.0.1:8080 TCP 200 12 34 1.234"
    )


def test_times_and_process_values(timezone: None) -> None:
    assert render("$msec $time_iso8601 $connection $pid $hostname $nginx_version", FakeSession()) == (
        "1700000000.250 2023-11-15T03:43:20+05:30 7 42 lb-1 1.22.1"
    )


def test_status_and_session_time_are_zero_padded() -> None:
    assert render("$status $session_time", FakeSession(status=502, elapsed_ms=5)) == "502 0.005"


def test_upstream_values_list_every_try() -> None:
    tries = [UpstreamAttempt("127.0.0.1:1", session_ms=2), UpstreamAttempt("127.0.0.1:2", 1, 4, 2001, 10, 20)]
    source = (
        "$upstream_addr|$upstream_connect_time|$upstream_first_byte_time|$upstream_session_time|"
        "$upstream_bytes_sent|$upstream_bytes_received"
    )
    assert render(source, FakeSession(attempts=tries)) == (
        "127.0.0.1:1, 127.0.0.1:2|-, 0.001|-, 0.004|0.002, 2.001|0, 10|0, 20"
    )


def test_upstream_values_without_any_try_are_missing() -> None:
    source = "$upstream_addr $upstream_bytes_sent"
    assert render(source, FakeSession(attempts=[])) == "- -"
    assert render(source, FakeSession(attempts=[]), LogEscape.JSON) == " "


def test_binary_address_is_escaped_byte_by_byte() -> None:
    assert render("$binary_remote_addr", FakeSession()) == "\\x7F\\x00\\x00\\x01"
    assert render("$binary_remote_addr", FakeSession(), LogEscape.NONE) == "\x7f\x00\x00\x01"


def test_non_ascii_hostname_is_escaped_as_its_utf8_bytes() -> None:
    assert render("$hostname", FakeSession(), variables=StreamVariables(hostname="é", pid=1)) == "\\xC3\\xA9"


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_time_local_is_strftimes_common_log_format(seconds: float) -> None:
    assert time_local(seconds) == time.strftime("%d/%b/%Y:%H:%M:%S %z", time.localtime(seconds))


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False))
def test_time_iso8601_is_iso_with_a_colon_in_the_offset(seconds: float) -> None:
    local = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(seconds))
    assert time_iso8601(seconds) == local[:-2] + ":" + local[-2:]


@given(st.integers(min_value=0, max_value=10**9))
def test_session_time_is_seconds_with_milliseconds(ms: int) -> None:
    text = render("$session_time", FakeSession(elapsed_ms=ms))
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
    starting = FakeSession(attempts=[], remote_addr="10.0.0.200", binary_remote_addr="\x0a\x00\x00\xc8")
    assert (
        BalancingKey(key, StreamVariables()).__call__(starting) == b"\xc3\xa910.0.0.200:8080/\x0a\x00\x00\xc8"
    )


def test_preread_values_are_missing_without_a_clienthello_and_empty_when_one_had_none() -> None:
    assert render(PREREAD, FakeSession(hello=None)) == "-|-|-"
    assert render(PREREAD, FakeSession(hello=Hello())) == "||"
    hello = Hello((3, 4), b"a.example", bytearray(b"h2,http/1.1"))
    assert render(PREREAD, FakeSession(hello=hello)) == "a.example|TLSv1.3|h2,http/1.1"


def test_a_server_name_is_logged_byte_by_byte() -> None:
    hello = Hello((3, 3), b'\xc3\xa9"\x00', None)
    assert render(PREREAD, FakeSession(hello=hello)) == "\\xC3\\xA9\\x22\\x00|TLSv1.2|"


def test_a_session_that_keeps_values_keeps_what_it_read_before_the_preread(timezone: None) -> None:
    """nginx caches its indexed variables: a preread variable read before the ClientHello stays "not
    found", the counts stay as they were; the values nginx does not cache follow the session."""
    variables = StreamVariables()
    session = FakeSession(values={}, bytes_received=0, status=0)
    read = variables.template(template("$ssl_preread_server_name.$bytes_received.$status"))
    assert read.evaluate(session) == ".0.000"
    session.hello, session.bytes_received, session.status = Hello((3, 4), b"a.example"), 7, 200
    assert render(PREREAD + " $bytes_received $status", session, variables=variables) == "-|TLSv1.3| 0 200"
    assert render(PREREAD + " $bytes_received", FakeSession(hello=session.hello, bytes_received=7)) == (
        "a.example|TLSv1.3| 7"
    )


def stream_variables(tmp_path: Path, text: str) -> StreamConfig:
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "nginx.conf").write_text(textwrap.dedent(text))
    result = load("nginx.conf", f"{tmp_path}/", LabSystem())
    assert result.error is None, result.error
    assert result.config is not None and result.config.stream is not None
    return result.config.stream


MAPS = """
    events {}
    stream {
        map $ssl_preread_server_name $route {
            hostnames;
            a.example        one;
            *.b.example      two;
            ~^(?<tenant>\\w+)\\.c\\.example$  three-$1;
            default          other;
        }
        map $route $volatile { volatile; default $status; }
        split_clients $remote_addr $half { 50% left; * right; }
        server { listen 38091; ssl_preread on; set $tag "[$route]"; proxy_pass $route:1; }
    }
"""


def made(tmp_path: Path) -> StreamVariables:
    model = stream_variables(tmp_path, MAPS)
    names = (set_.name for server in model.servers for set_ in server.sets)
    return StreamVariables(model.variables, names)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (b"a.example", "one"),
        (b"A.Example.", "one"),
        (b"x.b.example", "two"),
        (b"b.example", "other"),
        (b"acme.c.example", "three-acme"),
        (None, "other"),
    ],
)
def test_a_map_chooses_as_nginx_from_the_preread_server_name(
    tmp_path: Path, name: bytes | None, value: str
) -> None:
    hello = None if name is None else Hello((3, 4), name)
    assert render("$route", FakeSession(hello=hello), variables=made(tmp_path)) == value


def test_a_maps_named_group_and_captures_are_the_sessions(tmp_path: Path) -> None:
    session = FakeSession(hello=Hello((3, 4), b"acme.c.example"))
    value = Template(
        "$1 $route $tenant", (Capture(1), Literal(" "), Variable("route"), Literal(" "), Variable("tenant"))
    )
    assert made(tmp_path).template(value).evaluate(session) == "acme three-acme acme"


def test_a_map_is_evaluated_once_per_session_unless_volatile(tmp_path: Path) -> None:
    variables = made(tmp_path)
    session = FakeSession(hello=Hello((3, 4), b"a.example"), status=0)
    assert render("$route $volatile", session, variables=variables) == "one 000"
    session.hello, session.status = Hello((3, 4), b"x.b.example"), 200
    assert render("$route $volatile", session, variables=variables) == "one 200"


def test_split_clients_hashes_the_source_as_nginx(tmp_path: Path) -> None:
    variables = made(tmp_path)
    for last in range(20):
        address = f"10.0.0.{last}"
        expected = "left" if murmur_hash2(address.encode()) < 0xFFFFFFFF // 2 else "right"
        assert render("$half", FakeSession(remote_addr=address), variables=variables) == expected


def test_a_set_variable_is_empty_until_set_and_a_named_group_missing_until_matched(tmp_path: Path) -> None:
    assert render("[$tag][$tenant]", FakeSession(), variables=made(tmp_path)) == "[][-]"
