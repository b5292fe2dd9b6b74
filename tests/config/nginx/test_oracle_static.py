"""`hapair proxy -t` beside the real `nginx -t` on the directives that serve files and filter response
heads: the core's `root`, `alias`, `disable_symlinks`, `sendfile` and its companions, `open_file_cache*`,
`if_modified_since`, `max_ranges`, `etag`, `log_not_found`; `index`, `autoindex*`, `try_files`;
`expires`, `add_header`, `add_trailer`; `charset`, `source_charset`, `override_charset`,
`charset_types`. Same status, same lines; the values hapair refuses on purpose are asserted as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]


def _in_location(directives: str, name: str = "/") -> str:
    return f"http {{ server {{ listen 38081; location {name} {{ {directives} }} }} }}"


def _in_server(directives: str) -> str:
    return f"http {{ server {{ listen 38081; {directives} }} }}"


CASES = [
    # root and alias
    _in_server("root /srv; location / { root html; } location /a/ { alias /srv/a/; }"),
    _in_server("root /srv; root /var;"),
    _in_location("root /a; alias /b;"),
    _in_location("alias /a; root /b;"),
    _in_location("alias /a; alias /b;"),
    _in_location("alias /a;", "@named"),
    _in_location("alias /a/$1;", "~ ^/x/(.*)$"),
    _in_location("alias /a/$1;", "= /x"),
    _in_server("root $document_root/x;"),
    _in_server("root /x${document_root};"),
    _in_server("root $realpath_root;"),
    _in_server("root /srv/$host;"),
    _in_server("root /srv/$nosuch;"),
    _in_server("root /srv/$;"),
    _in_server("location / { if ($host) { root /x; } }"),
    _in_server("location / { if ($host) { alias /x; } }"),
    _in_server("alias /x;"),
    "http { root /srv; alias /x; }",
    # index, autoindex, try_files
    _in_server("index a.html b.htm /c.html; index d.html;"),
    _in_server("index /a.html b.html;"),
    _in_server('index "";'),
    _in_server('index a.html "";'),
    _in_server("index $host.html;"),
    _in_server("index $nosuch.html;"),
    _in_server("autoindex on; autoindex_format json; autoindex_localtime on; autoindex_exact_size off;"),
    _in_server("autoindex_format JSONP; autoindex_format xml;"),
    _in_server("autoindex_format foo;"),
    _in_server("autoindex maybe;"),
    _in_server("try_files $uri $uri/ /index.html?$args;"),
    _in_server("try_files $uri @fallback; location @fallback { return 200; }"),
    _in_location("try_files $uri =404; try_files $uri =403;"),
    _in_location("try_files $uri;"),
    _in_location("try_files a =abc;"),
    _in_location("try_files a =1000;"),
    _in_location("try_files a =;"),
    _in_location("try_files a =4$host;"),
    _in_location("try_files a =0;"),
    _in_location("try_files $nosuch =404;"),
    "http { try_files a b; }",
    # symbolic links and the file directives
    _in_location("disable_symlinks on;"),
    _in_location("disable_symlinks if_not_owner from=$document_root;"),
    _in_location("disable_symlinks foo;"),
    _in_location("disable_symlinks from=/x;"),
    _in_location("disable_symlinks off from=/x;"),
    _in_location("disable_symlinks on on;"),
    _in_location("disable_symlinks from=/x from=/y;"),
    _in_location("disable_symlinks on from=$nosuch;"),
    _in_location("disable_symlinks on; disable_symlinks off;"),
    _in_location("log_not_found off; etag off; if_modified_since before; max_ranges 0;"),
    _in_location("if_modified_since foo;"),
    _in_location("if_modified_since OFF; if_modified_since exact;"),
    _in_location("max_ranges -1;"),
    _in_location("etag maybe;"),
    _in_location("sendfile on; sendfile_max_chunk 512k; tcp_nopush on; tcp_nodelay on; postpone_output 0;"),
    _in_location("sendfile on; sendfile off;"),
    _in_location("sendfile_max_chunk x;"),
    _in_location("read_ahead 1m; directio off; directio_alignment 4k; aio off; aio_write off;"),
    _in_location("directio x;"),
    _in_location("aio on;"),
    _in_location("aio foo;"),
    _in_location("output_buffers 1 32k;"),
    _in_location("output_buffers 0 32k;"),
    _in_location("output_buffers 2 x;"),
    _in_location("output_buffers 1 32k; output_buffers 2 8k;"),
    _in_location("open_file_cache max=1000 inactive=20s; open_file_cache_valid 30s;"),
    _in_location("open_file_cache_min_uses 2; open_file_cache_errors on; open_file_cache_events on;"),
    _in_location("open_file_cache off;"),
    _in_location("open_file_cache inactive=2;"),
    _in_location("open_file_cache max=0;"),
    _in_location("open_file_cache max=10 foo;"),
    _in_location("open_file_cache max=10 inactive=x;"),
    _in_location("open_file_cache_valid x;"),
    "http { server { listen 38081; location / { if ($host) { sendfile on; root /x; } } } }",
    # expires, add_header, add_trailer
    _in_location("expires 1h;"),
    _in_location("expires modified 1d;"),
    _in_location("expires epoch;"),
    _in_location("expires max;"),
    _in_location("expires off;"),
    _in_location("expires -1;"),
    _in_location("expires @15h30m;"),
    _in_location("expires @25h;"),
    _in_location("expires modified @1h;"),
    _in_location("expires modified epoch;"),
    _in_location("expires modified;"),
    _in_location("expires foo 1h;"),
    _in_location("expires foo;"),
    _in_location("expires 1y2;"),
    _in_location("expires $arg_e;"),
    _in_location("expires modified $nosuch;"),
    _in_location("expires 1h; expires 2h;"),
    _in_location("add_header X-A a; add_header X-B $host always; add_header X-C '';"),
    _in_location("add_header X;"),
    _in_location("add_header X y z;"),
    _in_location("add_header X $nosuch;"),
    _in_location("add_header X $;"),
    _in_location("add_trailer X y; add_trailer X-Z $request_time always;"),
    _in_location("add_trailer X y never;"),
    "http { server { listen 38081; location / { if ($host) { add_header X y; expires 1h; } } } }",
    # charset
    _in_location("charset utf-8; charset_types text/css; override_charset on;"),
    _in_location("charset utf-8; charset koi8-r;"),
    _in_location("charset off; source_charset off;"),
    _in_location("charset utf-8; source_charset koi8-r;"),
    "http { charset utf-8; source_charset koi8-r; }",
    "http { charset utf-8; source_charset koi8-r; server { listen 38081; } }",
    "http { charset UTF-8; server { listen 38081; source_charset utf-8; } }",
    _in_location("charset utf-8; source_charset utf-8;"),
    _in_location("charset $arg_c; source_charset $arg_s;"),
    _in_location("charset $nosuch;"),
    _in_location("charset $;"),
    _in_location("charset ${x};"),
    _in_location("charset_types text/css text/html;"),
    _in_location("charset_types *; charset_types a;"),
    _in_location("charset_types a/b A/B;"),
    _in_location("override_charset on; override_charset off;"),
    "http { server { listen 38081; location / { if ($host) { charset utf-8; source_charset koi8-r; } } } }",
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


REFUSED = [
    (
        _in_location("aio threads=$host;"),
        'hapair does not support a thread pool named by variables in the "aio" directive',
    ),
    (_in_location("directio 4m;"), 'hapair does not support "4m" in the "directio" directive'),
    ("http { charset_map koi8-r utf-8 { } }", 'hapair does not support the "charset_map" directive'),
]


@pytest.mark.parametrize(("case", "refusal"), REFUSED)
def test_what_hapair_does_not_do_is_refused_by_name(prefix: Path, case: str, refusal: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    (nginx_status, _), (hapair_status, lines) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, hapair_status) == (0, 1)
    assert refusal in lines[0]
