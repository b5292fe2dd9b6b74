"""Access log lines of proxied and answered requests, rendered straight into bytes from the exchange: the
values of the variables that read the request's bytes, and the escapes nginx 1.22.1 applied to the same
header value (tests/proxy/test_logformat.py), in each escape mode."""

from __future__ import annotations

from pathlib import Path

from .harness import Backend, free_port, ok, proxy, request, run

FORMAT = (
    "$remote_addr|$remote_user|$request|$status|$body_bytes_sent|$http_host|$http_cookie|"
    "$http_x_forwarded_for|$proxy_add_x_forwarded_for|$http_referer|$host|$http_x_v"
)
# `X-V: a"b\c<01><7f><e9><09> <1f>` as nginx 1.22.1 logged it in each mode
NGINX_DEFAULT = b"a\\x22b\\x5Cc\\x01\\x7F\\xE9\\x09 \\x1F"
NGINX_JSON = b'a\\"b\\\\c\\u0001\x7f\xe9\\t \\u001F'
NGINX_NONE = b'a"b\\c\x01\x7f\xe9\t \x1f'
REQUEST = (
    b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nX-Forwarded-For: 1.2.3.4\r\n"
    b"X-Forwarded-For: 5.6.7.8\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"
    b'X-V: a"b\\c\x01\x7f\xe9\t \x1f\r\n\r\n'
)
FIELDS = [
    b"127.0.0.1",
    b"user",
    b"GET /a?x=1 HTTP/1.1",
    b"200",
    b"2",
    b"h",
    b"a=1; b=2",
    b"1.2.3.4, 5.6.7.8",
    b"1.2.3.4, 5.6.7.8, 127.0.0.1",
]


def logged(tmp_path: Path, location: str, *requests: bytes) -> dict[str, list[bytes]]:
    """The lines each of the three formats logged for `requests`, sent one after the other."""
    paths = {mode: tmp_path / f"{mode}.log" for mode in ("default", "json", "none")}

    async def scenario() -> None:
        backend = await Backend(ok()).start()
        port = free_port()
        text = f"""
        log_format d '{FORMAT}';
        log_format j escape=json '{FORMAT}';
        log_format n escape=none '{FORMAT}';
        server {{
            listen 127.0.0.1:{port};
            access_log {paths["default"]} d;
            access_log {paths["json"]} j;
            access_log {paths["none"]} n;
            location / {{ {location.replace("BACKEND", str(backend.port))} }}
        }}
        """
        async with proxy(tmp_path, text):
            for data in requests:
                assert (await request(port, data)).status == 200
        backend.stop()

    run(scenario())
    return {mode: path.read_bytes().splitlines() for mode, path in paths.items()}


def test_values_read_from_the_request_and_escaped_as_nginx_does(tmp_path: Path) -> None:
    lines = logged(tmp_path, "return 200 ok;", REQUEST)
    assert lines["default"] == [b"|".join([*FIELDS, b"-", b"h", NGINX_DEFAULT])]
    assert lines["json"] == [b"|".join([*FIELDS, b"", b"h", NGINX_JSON])]
    assert lines["none"] == [b"|".join([*FIELDS, b"", b"h", NGINX_NONE])]


def test_a_line_of_plain_values_and_missing_ones_after_a_proxied_request(tmp_path: Path) -> None:
    plain = b"GET /ok HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n"
    lines = logged(tmp_path, "proxy_pass http://127.0.0.1:BACKEND;", plain, plain)
    line = b"127.0.0.1|-|GET /ok HTTP/1.1|200|2|10.0.0.1:8080|-|-|127.0.0.1|-|10.0.0.1|-"
    assert lines["default"] == [line, line]
    line = b"127.0.0.1||GET /ok HTTP/1.1|200|2|10.0.0.1:8080|||127.0.0.1||10.0.0.1|"
    assert lines["json"] == lines["none"] == [line, line]
