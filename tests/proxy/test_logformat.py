"""Access log lines: nginx's escaping (checked against nginx 1.22.1's log files for the same header),
not-found values, and properties of the escaping."""

from __future__ import annotations

import json
import re

from hypothesis import given
from hypothesis import strategies as st

from hapair.config.nginx.finish.http import COMBINED
from hapair.config.nginx.model.logging import LogEscape
from hapair.config.nginx.model.templates import Literal, Template, Variable
from hapair.proxy.logformat import LineFormat, escape_default, escape_json

# the value nginx 1.22.1 logged for `X-V: a"b\c<01><7f><e9><09> <1f>`, in each escape mode
NGINX_VALUE = 'a"b\\c\x01\x7f\xe9\t \x1f'
NGINX_DEFAULT = "a\\x22b\\x5Cc\\x01\\x7F\\xE9\\x09 \\x1F"
NGINX_JSON = 'a\\"b\\\\c\\u0001\x7f\xe9\\t \\u001F'


def bracketed(*names: str) -> Template:
    parts: list = []
    for name in names:
        parts += [Literal("["), Variable(name), Literal("]")]
    return Template("", tuple(parts))


def test_default_escaping_matches_nginx() -> None:
    assert escape_default(NGINX_VALUE) == NGINX_DEFAULT


def test_json_escaping_matches_nginx() -> None:
    assert escape_json(NGINX_VALUE) == NGINX_JSON


def test_not_found_is_a_dash_by_default_and_nothing_in_json_and_none() -> None:
    values = {"found": "", "value": 'x"'}
    template = bracketed("missing", "found", "value")
    assert LineFormat(template).render(values.get) == "[-][][x\\x22]"
    assert LineFormat(template, LogEscape.JSON).render(values.get) == '[][][x\\"]'
    assert LineFormat(template, LogEscape.NONE).render(values.get) == '[][][x"]'


def test_combined_line() -> None:
    values = {
        "remote_addr": "10.0.0.1",
        "time_local": "26/Nov/2026:06:10:25 +0000",
        "request": "GET / HTTP/1.1",
        "status": "200",
        "body_bytes_sent": "3",
        "http_user_agent": "curl/7.88.1",
    }
    line = LineFormat(COMBINED.template).render_bytes(values.get)
    assert line == b'10.0.0.1 - - [26/Nov/2026:06:10:25 +0000] "GET / HTTP/1.1" 200 3 "-" "curl/7.88.1"\n'


@given(st.binary())
def test_default_escaping_leaves_only_printable_ascii_and_is_reversible(raw: bytes) -> None:
    value = raw.decode("latin-1")
    escaped = escape_default(value)
    assert all(0x20 <= ord(ch) < 0x7F and ch != '"' for ch in escaped)
    unescaped = re.sub(r"\\x([0-9A-F]{2})", lambda match: chr(int(match.group(1), 16)), escaped)
    assert unescaped == value


@given(st.binary())
def test_json_escaping_gives_a_json_string_body(raw: bytes) -> None:
    value = raw.decode("latin-1")
    assert json.loads('"' + escape_json(value) + '"') == value


@given(
    st.text(st.characters(blacklist_categories=("Cs",))),
    st.characters(min_codepoint=0x100, blacklist_categories=("Cs",)),
)
def test_values_beyond_latin1_are_written_as_utf8_bytes(text: str, wide: str) -> None:
    """Values from the wire hold one byte per character; others (a host name) are written in UTF-8."""
    value = text + wide
    line = LineFormat(bracketed("v"), LogEscape.NONE).render_bytes({"v": value}.get)
    assert line == b"[" + value.encode("utf-8") + b"]\n"


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.text()), st.sampled_from(list(LogEscape)))
def test_bound_format_renders_the_same_line_as_lookups_by_name(
    values: dict[str, str], escape: LogEscape
) -> None:
    line_format = LineFormat(bracketed("a", "b", "c", "a"), escape)
    bound = line_format.bind(lambda name: lambda source: source.get(name))
    assert bound.render_bytes(values) == line_format.render_bytes(values.get)
