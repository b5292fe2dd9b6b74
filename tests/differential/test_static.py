"""Static files through nginx and hapair on the same document root (document_root.py): root and alias
(in a regular expression location too), index, autoindex in its four formats, try_files, symbolic links
under each `disable_symlinks`, types from Debian's mime.types, validators and conditional requests,
ranges, the headers filter and the charset filter, error pages, methods, sendfile on and off. Each case
compares the whole answer (all headers but Server and Date) and the access-log line; the error-log
lines of nginx's static modules are compared too. The statuses are what nginx 1.22.1 was seen to answer.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from . import compare
from .backend import ok, raw
from .client import Conversation
from .document_root import OUTSIDE_SECRET, DocumentRoot, make_document_root
from .harness import BACKEND, LISTEN, LOG_FORMAT, Case, Pair, Side
from .suite import ORACLE, answer_params, check_answer, check_log, log_params

pytestmark = ORACLE
MIME_TYPES = Path(__file__).parents[1] / "data" / "debian-nginx" / "etc" / "nginx" / "mime.types"


def static_config(www: Path) -> str:
    """One server: `location /` to the backend (the harness's barrier), the static locations beside it."""
    served = f"{www}/s/"
    return f"""worker_processes 1;
error_log error.log info;
events {{}}
http {{
    include {MIME_TYPES};
    default_type application/octet-stream;
    log_format diff '{LOG_FORMAT}';
    access_log access.log diff buffer=4k flush=1ms;
    upstream backend {{ server 127.0.0.1:{BACKEND}; }}
    server {{
        listen 127.0.0.1:{LISTEN};
        root {www};
        port_in_redirect off;
        add_header X-Server server;
        location / {{ proxy_pass http://backend; }}
        location /s/ {{ }}
        location /nolog/ {{ alias {served}; log_not_found off; }}
        location /ai/ {{ alias {served}; autoindex on; }}
        location /al/ {{ alias {served}; autoindex on; autoindex_localtime on; }}
        location /iv/ {{ alias {served}; index $arg_i; }}
        location /aj/ {{ alias {served}; autoindex on; autoindex_format json; }}
        location /ajp/ {{ alias {served}; autoindex on; autoindex_format jsonp; }}
        location /ax/ {{ alias {served}; autoindex on; autoindex_format xml; }}
        location /ae/ {{ alias {served}; autoindex on; autoindex_exact_size off; charset utf-8; }}
        location /tf/ {{ alias {served}; try_files $uri $uri/ =404; }}
        location /tfu/ {{ try_files /s/nope.txt /s/page.txt?from=tf; }}
        location /tfn/ {{ try_files /s/nope.txt @named; }}
        location @named {{ return 200 "named location\\n"; }}
        location /tfc/ {{ try_files /s/nope.txt =418; }}
        location ~ ^/re/(.+)$ {{ alias {served}$1; }}
        location /sym/ {{ alias {served}; disable_symlinks on; }}
        location /symo/ {{ alias {served}; disable_symlinks if_not_owner; }}
        location /symf/ {{ alias {served}; disable_symlinks on from=$document_root; }}
        location /hdr/ {{
            alias {served};
            add_header X-Safe safe;
            add_header X-Always always always;
            expires modified -1h;
            charset utf-8;
        }}
        location /exp/ {{ alias {served}; expires epoch; }}
        location /expm/ {{ alias {served}; expires max; add_header Cache-Control private; }}
        location /cond/ {{ alias {served}; if_modified_since before; }}
        location /imsoff/ {{ alias {served}; if_modified_since off; }}
        location /noetag/ {{ alias {served}; etag off; }}
        location /mr/ {{ alias {served}; max_ranges 1; }}
        location /sf/ {{ alias {served}; sendfile on; tcp_nopush on; sendfile_max_chunk 256k; }}
        location /ep/ {{ alias {served}; error_page 404 /s/404.html; }}
        location /i2/ {{ alias {served}; index nope.html page.txt; }}
        location /iabs/ {{ alias {served}noindex/; index /s/page.txt; }}
        location /tr/ {{ alias {served}; add_trailer X-Trailer end; }}
        location /tra/ {{ alias {served}; add_trailer X-Trailer end always; add_trailer X-Empty "$arg_no"; }}
        location /cs/ {{ alias {served}; charset $arg_cs; source_charset $arg_src; }}
        location /noslash {{ alias {www}/; }}
        location /px/ {{
            proxy_pass http://backend;
            add_header X-Safe safe;
            add_header X-Always always always;
            expires 1h;
            charset utf-8;
        }}
        location /pxo/ {{ proxy_pass http://backend; charset utf-8; override_charset on; }}
        location /pxe/ {{ proxy_pass http://backend; expires modified 1d; add_header ETag ""; }}
        location /tfp/ {{ alias {served}; try_files $uri @backend; }}
        location @backend {{ proxy_pass http://backend; }}
        location /inherit/ {{
            alias {served};
            location /inherit/own/ {{ alias {served}; add_header X-Own own; }}
        }}
        location /lm/ {{ alias {served}; add_header Last-Modified ""; add_header ETag ""; }}
        location /expv/ {{ alias {served}; expires $arg_e; }}
        location /expmv/ {{ alias {served}; expires modified $arg_e; }}
        location /expmod/ {{ alias {served}; expires modified +1h; }}
        location /expd/ {{ alias {served}; expires @15h30m; }}
        location /ret/ {{ return 200 "returned\\n"; }}
        location /vars/ {{
            alias {served};
            add_header X-Root $document_root;
            add_header X-File $request_filename;
            add_header X-Real $realpath_root;
        }}
    }}
    server {{
        listen 127.0.0.1:{LISTEN};
        server_name nolocations;
        root {served};
    }}
    server {{
        listen 127.0.0.1:{LISTEN};
        server_name defaultroot;
        location /x/ {{ }}
    }}
}}
"""


@pytest.fixture(scope="module")
def document_root() -> Iterator[DocumentRoot]:
    root = make_document_root()
    yield root
    root.remove()


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, document_root: DocumentRoot) -> Iterator[Pair]:
    running = Pair(tmp_path_factory.mktemp("pair"), static_config(document_root.www))
    yield running
    running.close()


def request(
    target: bytes, *headers: bytes, method: bytes = b"GET", version: bytes = b"1.1", host: bytes = b"x"
) -> bytes:
    lines = [method + b" " + target + b" HTTP/" + version, b"Host: " + host, *headers, b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def get(
    name: str,
    target: bytes,
    nginx: int,
    *headers: bytes,
    method: bytes = b"GET",
    version: bytes = b"1.1",
    differs: str | None = None,
    log_differs: str | None = None,
) -> Case:
    data = request(target, *headers, method=method, version=version)
    conversation = Conversation([data], head_request=method == b"HEAD")
    return Case(name, conversation, (nginx,), differs=differs, log_differs=log_differs)


PROXIED_404 = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nnope"
ETAG = b'"6553f100-25"'  # page.txt: its mtime (document_root.MTIME) and size, as nginx writes them
LAST_MODIFIED = b"Tue, 14 Nov 2023 22:13:20 GMT"

CASES = [
    # files, types, names
    get("a text file", b"/s/page.txt", 200),
    get("an html file", b"/s/index.html", 200),
    get("css", b"/s/style.css", 200),
    get("javascript", b"/s/app.js", 200),
    get("json", b"/s/data.json", 200),
    get("png", b"/s/image.png", 200),
    get("no extension: default_type", b"/s/noext", 200),
    get("upper case extension", b"/s/UPPER.HTML", 200),
    get("empty file", b"/s/empty.txt", 200),
    get("a file of 3 MiB", b"/s/big.bin", 200),
    get("a file of 3 MiB with sendfile", b"/sf/big.bin", 200),
    get("a file with sendfile, HTTP/1.0", b"/sf/page.txt", 200, version=b"1.0"),
    get("a name with a space", b"/s/name%20with%20space.txt", 200),
    get("a name with quotes and angles", b"/s/quote%22and%3Cangle%3E&.txt", 200),
    get("a UTF-8 name", b"/s/%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt", 200),
    get("a hidden file", b"/s/.hidden", 200),
    get("HEAD", b"/s/page.txt", 200, method=b"HEAD"),
    get("HTTP/1.0", b"/s/page.txt", 200, version=b"1.0"),
    get("arguments are ignored", b"/s/page.txt?a=b", 200),
    get("encoded path", b"/s/p%61ge.txt", 200),
    get("dot segments", b"/s/dir/../page.txt", 200),
    get("double slash", b"/s//page.txt", 200),
    get("encoded slash", b"/s/dir%2Fother.html", 200),
    # missing and forbidden
    get("missing file", b"/s/nope.txt", 404),
    get("missing file, log_not_found off", b"/nolog/nope.txt", 404),
    get("file not readable by the workers", b"/s/secret.txt", 403),
    get("file in a directory the workers cannot enter", b"/s/locked/index.html", 403),
    get("a file's name with a slash after it", b"/s/page.txt/", 404),
    get("a file's name used as a directory", b"/s/page.txt/x", 404),
    get("a broken link", b"/s/broken", 404),
    # methods
    get("POST to a file", b"/s/page.txt", 405, method=b"POST"),
    get("POST to a missing file", b"/s/nope.txt", 404, method=b"POST"),
    get("PUT", b"/s/page.txt", 405, method=b"PUT"),
    get("DELETE a directory", b"/s/", 405, method=b"DELETE"),
    get("OPTIONS", b"/s/page.txt", 405, method=b"OPTIONS"),
    get("POST to a directory's index", b"/s/", 405, method=b"POST"),
    # directories
    get("a directory without its slash", b"/s/dir", 301),
    get("a directory without its slash, arguments kept", b"/s/dir?a=b&c", 301),
    get("a directory's index", b"/s/dir/", 200),
    get("a directory with a space, without its slash", b"/s/sp%20dir", 301),
    get("a directory with quotes and angles, without its slash", b"/s/q%22d%3Ci%3Er", 301),
    get("index from a variable", b"/iv/?i=page.txt", 200),
    get("index from a variable, absolute", b"/iv/?i=/s/style.css", 200),
    get("index from a variable, empty: the directory itself, again and again", b"/iv/", 500),
    get("the root's index", b"/s/", 200),
    get("a directory without index", b"/s/noindex/", 403),
    get("a directory the workers cannot enter", b"/s/locked/", 403),
    get("a missing directory", b"/s/nope/", 404),
    get("a missing directory, log_not_found off", b"/nolog/nope/", 404),
    get("index: the second name", b"/i2/", 200),
    get("index: an absolute name", b"/iabs/", 200),
    # symbolic links
    get("a link, followed", b"/s/link.txt", 200),
    get("a link to a directory, followed", b"/s/dirlink/index.html", 200),
    get("a link out of the root, followed (disable_symlinks off)", b"/s/outlink", 200),
    get("a link, disable_symlinks on", b"/sym/link.txt", 403),
    get("a link to a directory, disable_symlinks on", b"/sym/dirlink/index.html", 404),
    get("a file, disable_symlinks on", b"/sym/page.txt", 200),
    get("a link of the same owner, if_not_owner", b"/symo/link.txt", 200),
    get("a link to another owner's file, if_not_owner", b"/symo/tonobodys", 403),
    get("a link under from=, disable_symlinks on", b"/symf/link.txt", 403),
    get("a file under from=, disable_symlinks on", b"/symf/page.txt", 200),
    # alias in a regular expression location
    get("regex alias: a file", b"/re/page.txt", 200),
    get("regex alias: a directory", b"/re/dir", 301),
    get("regex alias: a directory's index", b"/re/dir/", 200),
    get("regex alias: missing", b"/re/nope", 404),
    # try_files
    get("try_files: the file", b"/tf/page.txt", 200),
    get("try_files: a directory", b"/tf/dir", 301),
    get("try_files: a directory with its slash", b"/tf/dir/", 200),
    get("try_files: =404", b"/tf/nope", 404),
    get("try_files: a URI with arguments", b"/tfu/x?a=b", 200),
    get("try_files: a named location", b"/tfn/x", 200),
    get("try_files: =418", b"/tfc/x", 418),
    # autoindex
    get("autoindex html", b"/ai/", 200),
    get("autoindex html, HTTP/1.0", b"/ai/", 200, version=b"1.0"),
    get("autoindex html, HEAD", b"/ai/", 200, method=b"HEAD"),
    get("autoindex html of a subdirectory", b"/ai/noindex/", 200),
    get("autoindex html of a directory with an index", b"/ai/dir/", 200),
    get("autoindex of a missing directory", b"/ai/nope/", 404),
    get("autoindex json", b"/aj/noindex/", 200),
    get("autoindex json of the root", b"/aj/", 200),
    get("autoindex jsonp", b"/ajp/noindex/?callback=cb.x_1", 200),
    get("autoindex jsonp without a callback", b"/ajp/noindex/", 200),
    get("autoindex jsonp with an invalid callback", b"/ajp/noindex/?callback=a-b", 400),
    get("autoindex xml", b"/ax/", 200),
    get("autoindex in local time", b"/al/", 200),
    get("autoindex scaled sizes, utf-8", b"/ae/", 200),
    get("autoindex does not answer a POST", b"/ai/noindex/", 403, method=b"POST"),
    get("autoindex and If-Match", b"/ai/noindex/", 412, b'If-Match: "x"'),
    get("autoindex and If-None-Match: *", b"/ai/noindex/", 304, b"If-None-Match: *"),
    # validators and conditions
    get("If-None-Match: the ETag", b"/s/page.txt", 304, b"If-None-Match: " + ETAG),
    get("If-None-Match: a list with the weak ETag", b"/s/page.txt", 304, b'If-None-Match: "a", W/' + ETAG),
    get("If-None-Match: another", b"/s/page.txt", 200, b'If-None-Match: "other"'),
    get("If-None-Match: *", b"/s/page.txt", 304, b"If-None-Match: *"),
    get("If-Modified-Since: the date", b"/s/page.txt", 304, b"If-Modified-Since: " + LAST_MODIFIED),
    get("If-Modified-Since: later", b"/s/page.txt", 200, b"If-Modified-Since: Wed, 15 Nov 2023 00:00:00 GMT"),
    get(
        "If-Modified-Since: later, before",
        b"/cond/page.txt",
        304,
        b"If-Modified-Since: Wed, 15 Nov 2023 00:00:00 GMT",
    ),
    get("If-Modified-Since: not a date", b"/s/page.txt", 200, b"If-Modified-Since: yesterday"),
    get(
        "If-Modified-Since: the date, if_modified_since off",
        b"/imsoff/page.txt",
        200,
        b"If-Modified-Since: " + LAST_MODIFIED,
    ),
    get(
        "If-Modified-Since: RFC 850",
        b"/s/page.txt",
        304,
        b"If-Modified-Since: Tuesday, 14-Nov-23 22:13:20 GMT",
    ),
    get("If-Modified-Since: asctime", b"/s/page.txt", 304, b"If-Modified-Since: Tue Nov 14 22:13:20 2023"),
    get("If-Modified-Since: no zone", b"/s/page.txt", 304, b"If-Modified-Since: Tue, 14 Nov 2023 22:13:20"),
    get(
        "If-Modified-Since: 30 February",
        b"/s/page.txt",
        200,
        b"If-Modified-Since: Thu, 30 Feb 2023 00:00:00 GMT",
    ),
    get(
        "If-Modified-Since and a mismatched If-None-Match",
        b"/s/page.txt",
        200,
        b"If-Modified-Since: " + LAST_MODIFIED,
        b'If-None-Match: "x"',
    ),
    get("If-Match: the ETag", b"/s/page.txt", 200, b"If-Match: " + ETAG),
    get("If-Match: another", b"/s/page.txt", 412, b'If-Match: "other"'),
    get(
        "If-Unmodified-Since: before",
        b"/s/page.txt",
        412,
        b"If-Unmodified-Since: Mon, 13 Nov 2023 00:00:00 GMT",
    ),
    get("If-Unmodified-Since: not a date", b"/s/page.txt", 412, b"If-Unmodified-Since: x"),
    get("return 200 and If-None-Match: *", b"/ret/", 304, b"If-None-Match: *"),
    get("return 200 and If-Match", b"/ret/", 412, b'If-Match: "x"'),
    get("return 200 and a range", b"/ret/", 200, b"Range: bytes=0-1"),
    get("etag off", b"/noetag/page.txt", 200),
    get("etag off, If-None-Match", b"/noetag/page.txt", 200, b"If-None-Match: " + ETAG),
    get("304 on HEAD", b"/s/page.txt", 304, b"If-None-Match: " + ETAG, method=b"HEAD"),
    # ranges
    get("range: the first bytes", b"/s/page.txt", 206, b"Range: bytes=0-9"),
    get("range: the last bytes", b"/s/page.txt", 206, b"Range: bytes=-5"),
    get("range: from an offset", b"/s/page.txt", 206, b"Range: bytes=30-"),
    get("range: past the end", b"/s/page.txt", 206, b"Range: bytes=30-1000"),
    get("range: two parts", b"/s/page.txt", 206, b"Range: bytes=0-0,5-9"),
    get("range: two parts with sendfile", b"/sf/page.txt", 206, b"Range: bytes=1-2, 4-"),
    get("range: not satisfiable", b"/s/page.txt", 416, b"Range: bytes=100-200"),
    get("range: malformed", b"/s/page.txt", 416, b"Range: bytes=abc"),
    get("range: other unit", b"/s/page.txt", 200, b"Range: lines=1-2"),
    get("range: reversed", b"/s/page.txt", 416, b"Range: bytes=5-3"),
    get("range: overlapping parts larger than the file", b"/s/page.txt", 200, b"Range: bytes=0-30,0-30"),
    get("range: max_ranges 1, two parts", b"/mr/page.txt", 200, b"Range: bytes=0-1,3-4"),
    get("range: max_ranges 1, one part", b"/mr/page.txt", 206, b"Range: bytes=0-1"),
    get("range: If-Range with the ETag", b"/s/page.txt", 206, b"Range: bytes=0-1", b"If-Range: " + ETAG),
    get("range: If-Range with another ETag", b"/s/page.txt", 200, b"Range: bytes=0-1", b'If-Range: "x"'),
    get(
        "range: If-Range with the date",
        b"/s/page.txt",
        206,
        b"Range: bytes=0-1",
        b"If-Range: " + LAST_MODIFIED,
    ),
    get("range: an empty file", b"/s/empty.txt", 200, b"Range: bytes=0-"),
    get("range: spaces", b"/s/page.txt", 206, b"Range: bytes= 0 - 1 , 3 - 4"),
    get("range: a trailing comma", b"/s/page.txt", 416, b"Range: bytes=0-1,"),
    get("range: an empty suffix", b"/s/page.txt", 416, b"Range: bytes=-0"),
    get("range: a suffix longer than the file", b"/s/page.txt", 206, b"Range: bytes=-100"),
    get("range: past 64 bits", b"/s/page.txt", 416, b"Range: bytes=99999999999999999999-"),
    get("range: upper case unit", b"/s/page.txt", 206, b"Range: BYTES=0-1"),
    get(
        "range: with etag off and If-Range an ETag",
        b"/noetag/page.txt",
        200,
        b"Range: bytes=0-1",
        b"If-Range: " + ETAG,
    ),
    get("range: a big file, middle", b"/sf/big.bin", 206, b"Range: bytes=1000000-2999999"),
    get("range: HEAD", b"/s/page.txt", 206, b"Range: bytes=0-1", method=b"HEAD"),
    # the headers and charset filters
    get("add_header, expires, charset on a 200", b"/hdr/page.txt", 200),
    get("add_header always on a 404", b"/hdr/nope", 404),
    get("add_header on a 304", b"/hdr/page.txt", 304, b"If-None-Match: " + ETAG),
    get("add_header on a 301", b"/hdr/dir", 301),
    get("add_header on a 416", b"/hdr/page.txt", 416, b"Range: bytes=99-"),
    get("add_header on a 206", b"/hdr/page.txt", 206, b"Range: bytes=0-0,2-2"),
    get("charset on an image", b"/hdr/image.png", 200),
    get("expires epoch", b"/exp/page.txt", 200),
    get("expires max and Cache-Control", b"/expm/page.txt", 200),
    Case("charset from a variable without a value", request(b"/cs/page.txt?cs=koi8-r"), ()),
    get("charset and source from variables, the same", b"/cs/page.txt?cs=koi8-r&src=KOI8-R", 200),
    get("charset and source from variables, others", b"/cs/page.txt?cs=utf-8&src=koi8-r", 200),
    get("document_root and request_filename", b"/vars/page.txt", 200),
    # proxied responses through the header filters
    Case(
        "proxied 200: add_header, expires, charset",
        request(b"/px/a"),
        (200,),
        reply=ok(
            b"hello", headers=b"Content-Type: text/html\r\nCache-Control: no-store\r\nCache-Control: x\r\n"
        ),
    ),
    Case("proxied 404: add_header always", request(b"/px/a"), (404,), reply=raw(PROXIED_404, close=True)),
    Case(
        "proxied 302: no charset",
        request(b"/px/a"),
        (302,),
        reply=raw(b"HTTP/1.1 302 Found\r\nContent-Type: text/html\r\nContent-Length: 0\r\n\r\n"),
    ),
    Case(
        "proxied type with its charset",
        request(b"/px/a"),
        (200,),
        reply=ok(
            b"x",
            headers=b"Content-Type: text/html; charset=koi8-r\r\nExpires: Thu, 01 Jan 2099 00:00:00 GMT\r\n",
        ),
    ),
    Case(
        "proxied type in upper case",
        request(b"/px/a"),
        (200,),
        reply=ok(b"x", headers=b"Content-Type: TEXT/HTML\r\n"),
    ),
    Case(
        "proxied type with a parameter",
        request(b"/px/a"),
        (200,),
        reply=ok(b"x", headers=b"Content-Type: text/html; q=1\r\n"),
    ),
    Case(
        "proxied json: no charset",
        request(b"/px/a"),
        (200,),
        reply=ok(b"x", headers=b"Content-Type: application/json\r\n"),
    ),
    Case(
        "override_charset: the same charset",
        request(b"/pxo/a"),
        (200,),
        reply=ok(b"x", headers=b'Content-Type: text/html; charset="UTF-8"\r\n'),
    ),
    Case(
        "override_charset: another charset",
        request(b"/pxo/a"),
        (200,),
        reply=ok(b"x", headers=b"Content-Type: text/plain;  charset=koi8-r\r\n"),
    ),
    Case(
        "proxied: expires modified, ETag removed",
        request(b"/pxe/a"),
        (200,),
        reply=ok(b"x", headers=b'ETag: "1"\r\nLast-Modified: Tue, 14 Nov 2023 22:13:20 GMT\r\n'),
    ),
    Case("try_files: a named location that proxies", request(b"/tfp/nope"), (200,)),
    get("try_files: a file before the named location", b"/tfp/page.txt", 200),
    get("add_header: a location with none inherits", b"/inherit/page.txt", 200),
    get("add_header: a location with its own does not", b"/inherit/own/page.txt", 200),
    get("add_header: Last-Modified and ETag removed", b"/lm/page.txt", 200),
    get("add_header: ETag removed after If-None-Match", b"/lm/page.txt", 304, b"If-None-Match: " + ETAG),
    get("expires from a variable: epoch", b"/expv/page.txt?e=epoch", 200),
    get("expires from a variable: max", b"/expv/page.txt?e=max", 200),
    get("expires from a variable: off", b"/expv/page.txt?e=off", 200),
    get("expires from a variable: not a time", b"/expv/page.txt?e=soon", 200),
    get("expires from a variable: none", b"/expv/page.txt", 200),
    get("expires modified from a variable", b"/expmv/page.txt?e=-1d", 200),
    get("expires modified from a variable: epoch is no time", b"/expmv/page.txt?e=epoch", 200),
    get("expires modified +1h on an old file", b"/expmod/page.txt", 200),
    # servers without locations, and nginx's default root
    Case("a server without locations", request(b"/page.txt", host=b"nolocations"), (200,)),
    Case("a server without locations: index", request(b"/", host=b"nolocations"), (200,)),
    Case(
        "the default root (under the prefix, which the workers cannot enter)",
        request(b"/x/nope", host=b"defaultroot"),
        (403,),
    ),
    # error pages and trailers
    get("error_page to a file", b"/ep/nope", 404),
    get("add_trailer, HTTP/1.1", b"/tr/page.txt", 200),
    get("add_trailer, HTTP/1.0", b"/tr/page.txt", 200, version=b"1.0"),
    get("add_trailer, HEAD", b"/tr/page.txt", 200, method=b"HEAD"),
    get("add_trailer on a 404, not always", b"/tr/nope", 404),
    get("add_trailer always on a 404", b"/tra/nope", 404),
]


@pytest.mark.parametrize("case", answer_params(CASES))
def test_answer(pair: Pair, case: Case) -> None:
    check_answer(pair, case)


@pytest.mark.parametrize("case", log_params(CASES))
def test_access_log(pair: Pair, case: Case) -> None:
    check_log(pair, case)


_ERROR_LINE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*)$")


def error_lines(side: Side, text: str) -> list[str]:
    """A case's error-log lines without time, process and connection numbers, each side's directory and
    its backend's port (the two have their own)."""
    lines = []
    for line in text.splitlines():
        match = _ERROR_LINE.match(line)
        if match is not None and "/__barrier__/" not in line:
            found = f"[{match.group(1)}] {match.group(2)}"
            found = found.replace(str(side.directory), "<prefix>")
            lines.append(found.replace(f":{side.backend.port}/", ":<backend>/"))
    return lines


@pytest.mark.parametrize("case", answer_params(CASES))
def test_error_log(pair: Pair, case: Case) -> None:
    outcome = pair.run(case)
    hapair, nginx = (
        error_lines(pair.hapair, outcome.hapair.errors),
        error_lines(pair.nginx, outcome.nginx.errors),
    )
    assert hapair == nginx


def test_an_alias_without_slash_leads_nowhere_outside_its_directory(pair: Pair) -> None:
    """`location /noslash` with `alias .../www/` (no slash after the location's name): nginx maps
    `/noslash../outside/secret` to `.../www/../outside/secret`, out of its alias, and serves it (a
    known hole); hapair answers 404 and says why in its error log (docs/nginx-differences.md)."""
    outcome = pair.exchange(request(b"/noslash../outside/secret"))
    nginx, hapair = outcome.nginx.answer, outcome.hapair.answer
    assert nginx.statuses == [200] and nginx.responses[0].body == OUTSIDE_SECRET
    assert hapair.statuses == [404]
    assert OUTSIDE_SECRET not in hapair.raw
    assert 'outside/secret" leads out of its root, not served' in outcome.hapair.errors


SEGMENTS = st.sampled_from(
    [
        b"..",
        b".",
        b"%2e",
        b"%2E%2e",
        b"%2e.",
        b"%2F",
        b"%2f..",
        b"..%2F..",
        b"../outside/secret",
        b"..%2Foutside%2Fsecret",
        b"",
        b"%00",
        b"%252e",
        b"outside",
        b"secret",
        b"www",
        b"s",
        b"dir",
        b"page.txt",
        b"index.html",
        b"x",
    ]
)
PREFIXES = st.sampled_from([b"/s/", b"/s", b"/noslash", b"/noslash/", b"/re/", b"/tf/", b"/sym/", b"/ai/"])


@st.composite
def targets(draw: st.DrawFn) -> bytes:
    """A target under one of the static locations, made of dot segments, encoded dots and slashes, NUL,
    empty segments and names of the document root's neighbourhood."""
    path = draw(PREFIXES) + b"/".join(draw(st.lists(SEGMENTS, max_size=6)))
    return path + (b"?a" if draw(st.booleans()) else b"")


@settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(target=b"/noslash../outside/secret")
@example(target=b"/noslash..%2Foutside%2Fsecret")
@given(target=targets())
def test_no_target_reaches_outside_the_root(pair: Pair, target: bytes) -> None:
    """hapair never serves the file outside the document root, and answers every target as nginx does,
    except a path that `..` leads out of its alias (an alias without slash: the hole
    test_an_alias_without_slash_leads_nowhere_outside_its_directory shows), which nginx looks for out
    there and hapair answers 404."""
    outcome = pair.exchange(request(target))
    hapair = outcome.hapair
    assert OUTSIDE_SECRET not in hapair.answer.raw
    compare.assert_no_worker_died(hapair)
    if "leads out of its root, not served" in hapair.errors:
        assert hapair.answer.statuses == [404]
    else:
        compare.assert_same_answer(outcome)


@pytest.mark.parametrize(
    ("target", "seconds", "control"),
    [
        (b"/px/a", 3600, b"max-age=3600"),
        (b"/expv/page.txt?e=0", 0, b"max-age=0"),
        (b"/expv/page.txt?e=-10m", -600, b"no-cache"),
    ],
)
def test_expires_counts_from_the_response_s_date(
    pair: Pair, target: bytes, seconds: int, control: bytes
) -> None:
    """`expires TIME` (and a value from a variable): `Expires` is the response's `Date` plus the time, and
    `Cache-Control` says it, on both (the two may answer in different seconds: each is held to its own
    `Date`)."""
    outcome = pair.exchange(request(target))
    for side in outcome.sides():
        (response,) = side.answer.responses
        date, expires = response.header("date"), response.header("expires")
        assert date is not None and expires is not None
        offset = email.utils.parsedate_to_datetime(expires.decode()) - email.utils.parsedate_to_datetime(
            date.decode()
        )
        assert (offset.total_seconds(), response.header("cache-control")) == (seconds, control), side.name


def test_expires_at_a_time_of_day_is_its_next_occurrence(pair: Pair) -> None:
    """`expires @15h30m`: the next 15:30 in local time after the response's `Date`, and `Cache-Control`
    counts the seconds to it."""
    outcome = pair.exchange(request(b"/expd/page.txt"))
    for side in outcome.sides():
        (response,) = side.answer.responses
        date = email.utils.parsedate_to_datetime((response.header("date") or b"").decode()).timestamp()
        local = time.localtime(date)
        at = time.mktime((local.tm_year, local.tm_mon, local.tm_mday, 15, 30, 0, 0, 0, local.tm_isdst))
        if at <= date:
            at = time.mktime(
                (local.tm_year, local.tm_mon, local.tm_mday + 1, 15, 30, 0, 0, 0, local.tm_isdst)
            )
        expires = email.utils.parsedate_to_datetime((response.header("expires") or b"").decode()).timestamp()
        assert (expires, response.header("cache-control")) == (at, b"max-age=%d" % (at - date)), side.name


@pytest.mark.parametrize("target", [b"/tr/page.txt", b"/tra/nope"])
def test_trailers_end_the_chunked_body_as_nginx_s(pair: Pair, target: bytes) -> None:
    """The last chunk and its trailers, which the answer's comparison reads past: `X-Trailer: end` after a
    file, and after an error page with `always` (an empty value is left out)."""
    outcome = pair.exchange(request(target))
    endings = [side.answer.raw[side.answer.raw.rindex(b"\r\n0\r\n") :] for side in outcome.sides()]
    assert endings[0] == endings[1] == b"\r\n0\r\nX-Trailer: end\r\n\r\n"
