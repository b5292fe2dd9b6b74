"""`hapair proxy -t` beside the real `nginx -t` on the directives of how client connections are read and
closed: `client_header_buffer_size`, `large_client_header_buffers` (with nginx's check against its
connection pool size when the http block ends), `underscores_in_headers`, `ignore_invalid_headers`,
Debian's `max_headers`, `lingering_close`, `lingering_time`, `lingering_timeout`: same status, same
lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_server(directives: str) -> str:
    return f"http {{ server {{ listen 38082; {directives} location / {{ }} }} }}"


def _in_location(directives: str) -> str:
    return f"http {{ server {{ listen 38082; location / {{ {directives} }} }} }}"


CASES = [
    "http { client_header_buffer_size 2k; large_client_header_buffers 8 16k; server { listen 38082; } }",
    _in_server("client_header_buffer_size 512; large_client_header_buffers 2 1k;"),
    _in_server("client_header_buffer_size 0;"),
    _in_server("client_header_buffer_size x;"),
    _in_server("client_header_buffer_size 1k; client_header_buffer_size 2k;"),
    _in_location("client_header_buffer_size 1k;"),
    _in_server("large_client_header_buffers 0 8k;"),
    _in_server("large_client_header_buffers x 8k;"),
    _in_server("large_client_header_buffers 4 0;"),
    _in_server("large_client_header_buffers 4 8q;"),
    _in_server("large_client_header_buffers 4;"),
    _in_server("large_client_header_buffers 4 8k; large_client_header_buffers 4 8k;"),
    _in_server("large_client_header_buffers 4 512;"),
    _in_server("large_client_header_buffers 4 511;"),
    "http { large_client_header_buffers 4 100; }",
    "http { large_client_header_buffers 4 100; server { listen 38082; large_client_header_buffers 4 1k; } }",
    "http { large_client_header_buffers 4 100; server { listen 38082; } }",
    _in_location("large_client_header_buffers 4 8k;"),
    "http { underscores_in_headers on; ignore_invalid_headers off; server { listen 38082; } }",
    _in_server("underscores_in_headers ON; ignore_invalid_headers Off;"),
    _in_server("underscores_in_headers maybe;"),
    _in_server("ignore_invalid_headers on; ignore_invalid_headers on;"),
    _in_location("underscores_in_headers on;"),
    _in_location("ignore_invalid_headers off;"),
    "http { max_headers 100; server { listen 38082; max_headers 0; } }",
    _in_server("max_headers abc;"),
    _in_server("max_headers -1;"),
    _in_server("max_headers 5; max_headers 6;"),
    _in_location("max_headers 5;"),
    "http { lingering_close always; lingering_time 10s; lingering_timeout 1s; server { listen 38082; } }",
    _in_location("lingering_close off; lingering_time 100ms; lingering_timeout 50ms;"),
    _in_location("lingering_close ALWAYS;"),
    _in_location("lingering_close sometimes;"),
    _in_location("lingering_close on; lingering_close off;"),
    _in_location("lingering_time x;"),
    _in_location("lingering_timeout 1s 2s;"),
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)
