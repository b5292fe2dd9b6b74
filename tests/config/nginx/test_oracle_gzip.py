"""`hapair proxy -t` beside the real `nginx -t` on the gzip filter's directives (`gzip`, `gzip_types`,
`gzip_comp_level`, `gzip_min_length`, `gzip_buffers`, `gzip_window`, `gzip_hash`, `postpone_gzipping`,
`gzip_no_buffer`) and the core module's that go with them (`gzip_vary`, `gzip_http_version`,
`gzip_proxied`, `gzip_disable`): same status, same lines. `gzip_static` and `gunzip` are refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_location(directives: str) -> str:
    return f"http {{ server {{ listen 38081; location / {{ {directives} }} }} }}"


def _in_http(directives: str) -> str:
    return f"http {{ {directives} server {{ listen 38081; }} }}"


CASES = [
    _in_http("gzip on; gzip_vary on; gzip_comp_level 6; gzip_min_length 1k; gzip_buffers 16 8k;"),
    _in_http("gzip on; gzip off;"),
    _in_http("gzip maybe;"),
    _in_http("gzip on on;"),
    _in_location("if ($host) { gzip on; }"),
    _in_location("if ($host) { gzip_vary on; }"),
    "stream { gzip on; }",
    _in_http("gzip_types text/plain application/json;"),
    _in_http("gzip_types Text/Plain text/plain;"),
    _in_http("gzip_types text/html;"),
    _in_http("gzip_types *;"),
    _in_http("gzip_types * text/plain; gzip_types text/css;"),
    _in_http("gzip_types text/css; gzip_types text/css text/xml;"),
    _in_location("gzip_types application/javascript;"),
    _in_http("gzip_comp_level 0;"),
    _in_http("gzip_comp_level 10;"),
    _in_http("gzip_comp_level -1;"),
    _in_http("gzip_comp_level x;"),
    _in_http("gzip_comp_level 1; gzip_comp_level 9;"),
    _in_http("gzip_window 512; gzip_hash 128k;"),
    _in_http("gzip_window 1k;"),
    _in_http("gzip_window 64k;"),
    _in_http("gzip_window 0;"),
    _in_http("gzip_window x;"),
    _in_http("gzip_hash 256k;"),
    _in_http("gzip_hash 1024;"),
    _in_http("gzip_hash 300;"),
    _in_http("gzip_buffers 0 8k;"),
    _in_http("gzip_buffers 4 0;"),
    _in_http("gzip_buffers x 8k;"),
    _in_http("gzip_buffers 4 8x;"),
    _in_http("gzip_buffers 4 8k; gzip_buffers 4 8k;"),
    _in_http("gzip_buffers 4;"),
    _in_http("gzip_min_length x;"),
    _in_http("gzip_min_length 0; gzip_min_length 1;"),
    _in_http("postpone_gzipping 8k; gzip_no_buffer on;"),
    _in_http("postpone_gzipping x;"),
    _in_http("gzip_no_buffer maybe;"),
    _in_http("gzip_vary maybe;"),
    _in_http("gzip_vary on; gzip_vary on;"),
    _in_http("gzip_http_version 1.0;"),
    _in_http("gzip_http_version 2.0;"),
    _in_http("gzip_http_version 1.0; gzip_http_version 1.1;"),
    _in_http("gzip_proxied expired no-cache no-store private no_last_modified no_etag auth;"),
    _in_http("gzip_proxied any; gzip_proxied off;"),
    _in_http("gzip_proxied ANY any;"),
    _in_http("gzip_proxied sometimes;"),
    _in_http('gzip_disable msie6 "MSIE [1-6]\\." degradation;'),
    _in_http("gzip_disable msie6; gzip_disable curl;"),
    _in_location("gzip_disable msie6;"),
    _in_http("log_format g '$gzip_ratio'; access_log logs/g.log g;"),
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


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        (_in_location("gzip_static on;"), 'hapair does not support the "gzip_static" directive'),
        (_in_location("gunzip on;"), 'hapair does not support the "gunzip" directive'),
        (_in_location("gunzip_buffers 4 8k;"), 'hapair does not support the "gunzip_buffers" directive'),
    ],
)
def test_gzip_static_and_gunzip_are_refused_where_nginx_accepts_them(
    prefix: Path, case: str, refusal: str
) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status, refusal in lines[0]) == (0, 1, True)
