"""hapair's own pages are nginx 1.22.1's: recorded from the real nginx answering `return CODE;` for every
code from 200 to 508 (tests/data/nginx-pages.json: each code's status line and body), with `hapair`
where nginx writes its version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hapair.proxy.http.pages import NO_RESPONSE, page, wire_status
from hapair.proxy.http.response import status_line

RECORDED = json.loads((Path(__file__).parents[2] / "data" / "nginx-pages.json").read_text())


@pytest.mark.parametrize("code", sorted(int(code) for code in RECORDED))
def test_page_and_status_line_are_nginx_s(code: int) -> None:
    head, body = RECORDED[str(code)]
    if code in NO_RESPONSE:
        assert head == "" and body == ""
        return
    expected = body.replace("nginx/1.22.1", "hapair").encode()
    is_special = code >= 300 and code != 304
    assert (page(code) or b"") == (expected if is_special else b"")
    assert head.split("\r\n")[0] == "HTTP/1.1 " + status_line(wire_status(code)).decode()
