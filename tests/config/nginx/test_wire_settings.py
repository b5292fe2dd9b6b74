"""How client connections are read and closed, in the model: `client_header_buffer_size`,
`large_client_header_buffers`, `underscores_in_headers`, `ignore_invalid_headers`, Debian's
`max_headers` (http and server levels, inherited), `lingering_close`, `lingering_time`,
`lingering_timeout` (down to locations); nginx's defaults where nothing is said. What `nginx -t` says of
them is in test_oracle_wire.py."""

from __future__ import annotations

from .conftest import Read, error, location, server


def http_conf(body: str) -> str:
    return f"events {{}}\nhttp {{\n{body}\n}}\n"


def test_nginx_defaults(read: Read) -> None:
    settings = location(read(http_conf("server { listen 8080; location / { } }"))).settings
    assert (
        settings.client_header_buffer_size,
        settings.large_client_header_buffers,
        settings.underscores_in_headers,
        settings.ignore_invalid_headers,
        settings.max_headers,
        settings.lingering_close,
        settings.lingering_time,
        settings.lingering_timeout,
    ) == (1024, (4, 8192), False, True, 1000, "on", None, None)


def test_header_rules_are_set_at_http_or_server_level_and_inherited(read: Read) -> None:
    body = (
        "client_header_buffer_size 2k; large_client_header_buffers 8 16k; underscores_in_headers on; "
        "server { listen 8080; ignore_invalid_headers off; max_headers 50; location / { } }"
    )
    settings = location(read(http_conf(body))).settings
    assert (
        settings.client_header_buffer_size,
        settings.large_client_header_buffers,
        settings.underscores_in_headers,
        settings.ignore_invalid_headers,
        settings.max_headers,
    ) == (2048, (8, 16384), True, False, 50)


def test_lingering_settings_reach_locations(read: Read) -> None:
    body = (
        "lingering_time 10s; "
        "server { listen 8080; location / { lingering_close Always; lingering_timeout 1s; } }"
    )
    result = read(http_conf(body))
    settings = location(result).settings
    assert (settings.lingering_close, settings.lingering_time, settings.lingering_timeout) == (
        "always",
        10000,
        1000,
    )
    assert server(result).settings.lingering_close == "on"


def test_a_large_header_buffer_smaller_than_the_connection_pool_is_refused_at_the_end_of_http(
    read: Read,
) -> None:
    result = read(http_conf("large_client_header_buffers 4 511;\nserver { listen 8080; }"))
    assert error(result) == (
        'nginx: [emerg] the "large_client_header_buffers" size must be equal to or greater than '
        f'"connection_pool_size" in {result.conf_file}:5'
    )
