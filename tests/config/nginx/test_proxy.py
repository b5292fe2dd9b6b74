"""The proxy module: `proxy_pass`, `proxy_set_header`, timeouts, `proxy_next_upstream`,
`proxy_http_version`, and how values are inherited http -> server -> location as nginx merges them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.templates import Literal, Variable

from .conftest import Read, error, location, server

UPSTREAM = "upstream b { server 192.0.2.1:8080; }"


def http_conf(body: str) -> str:
    return f"events {{}}\nhttp {{\n{UPSTREAM}\n{body}\n}}\n"


def one_location(directives: str, http_level: str = "", server_level: str = "") -> str:
    return http_conf(f"{http_level}\nserver {{ listen 80; {server_level}\nlocation / {{ {directives} }} }}")


def test_proxy_pass_names_the_group_and_keeps_the_uri(read: Read) -> None:
    target = location(read(one_location("proxy_pass http://b/api/;"))).settings.proxy.target
    assert target is not None
    assert (target.url, target.scheme, target.upstream.name, target.uri) == (
        "http://b/api/",
        "http",
        "b",
        "/api/",
    )


def test_proxy_pass_without_uri_passes_the_request_uri_as_is(read: Read) -> None:
    target = location(read(one_location("proxy_pass https://b;"))).settings.proxy.target
    assert target is not None and (target.scheme, target.uri) == ("https", None)


def test_proxy_pass_is_not_inherited_by_nested_locations(read: Read) -> None:
    found = location(
        read(http_conf("server { listen 80; location / { proxy_pass http://b; location /x {} } }"))
    )
    assert found.locations[0].settings.proxy.target is None


@pytest.mark.parametrize(
    ("directives", "message"),
    [
        ("proxy_pass ftp://b;", "invalid URL prefix"),
        ("proxy_pass http://b; proxy_pass http://b;", '"proxy_pass" directive is duplicate'),
        ("proxy_pass http://;", 'no host in upstream ""'),
        ("proxy_pass http://b:x;", 'invalid port in upstream "b:x"'),
        ("proxy_pass http://$nosuch;", 'unknown "nosuch" variable'),
        ("proxy_pass http://$host${x;", 'the closing bracket in "x" variable is missing'),
        ("proxy_read_timeout 1q;", '"proxy_read_timeout" directive invalid value'),
        ("proxy_read_timeout 1; proxy_read_timeout 2;", '"proxy_read_timeout" directive is duplicate'),
        ("proxy_http_version 2.0;", 'invalid value "2.0"'),
        ("proxy_next_upstream error sometimes;", 'invalid value "sometimes"'),
        ("proxy_next_upstream_tries many;", '"proxy_next_upstream_tries" directive invalid number'),
    ],
)
def test_proxy_errors(read: Read, directives: str, message: str) -> None:
    assert error(read(one_location(directives))).startswith(f"nginx: [emerg] {message}")


def test_a_uri_in_proxy_pass_is_refused_in_a_regex_location(read: Read) -> None:
    text = http_conf("server { listen 80; location ~ ^/a { proxy_pass http://b/x; } }")
    assert error(read(text)).startswith(
        'nginx: [emerg] "proxy_pass" cannot have URI part in location given by'
    )


def test_defaults_are_nginx_defaults(read: Read) -> None:
    proxy = location(read(one_location("proxy_pass http://b;"))).settings.proxy
    assert (
        proxy.connect_timeout,
        proxy.read_timeout,
        proxy.send_timeout,
        proxy.next_upstream,
        proxy.next_upstream_tries,
        proxy.next_upstream_timeout,
        proxy.http_version,
    ) == (60_000, 60_000, 60_000, frozenset({"error", "timeout"}), 0, 0, "1.0")


def test_a_bare_number_is_seconds(read: Read) -> None:
    assert location(read(one_location("proxy_read_timeout 90;"))).settings.proxy.read_timeout == 90_000


def test_timeouts_and_retries_are_read(read: Read) -> None:
    directives = (
        "proxy_connect_timeout 500ms; proxy_send_timeout 2m; proxy_next_upstream_tries 3; "
        "proxy_next_upstream_timeout 10s; proxy_http_version 1.1;"
    )
    proxy = location(read(one_location(directives))).settings.proxy
    assert (proxy.connect_timeout, proxy.send_timeout, proxy.next_upstream_tries, proxy.next_upstream_timeout,
            proxy.http_version) == (500, 120_000, 3, 10_000, "1.1")  # fmt: skip


def test_proxy_next_upstream_adds_up_over_directives_of_a_level(read: Read) -> None:
    proxy = location(
        read(one_location("proxy_next_upstream error; proxy_next_upstream HTTP_502;"))
    ).settings.proxy
    assert proxy.next_upstream == frozenset({"error", "http_502"})


def test_proxy_next_upstream_off_disables_retries(read: Read) -> None:
    assert (
        location(read(one_location("proxy_next_upstream off error;"))).settings.proxy.next_upstream
        == frozenset()
    )


def test_a_repeated_next_upstream_condition_is_warned(read: Read, conf_dir: Path) -> None:
    result = read(one_location("proxy_next_upstream error error;"))
    assert [m.render() for m in result.reading] == [
        f'nginx: [warn] duplicate value "error" in {conf_dir}/nginx.conf:6'
    ]


def test_headers_are_the_configured_ones_then_nginx_defaults_not_overridden(read: Read) -> None:
    directives = "proxy_set_header Host $http_host; proxy_set_header X-Real-IP $remote_addr;"
    headers = location(read(one_location(directives))).settings.proxy.headers
    assert [(h.name, h.value.source) for h in headers] == [
        ("Host", "$http_host"),
        ("X-Real-IP", "$remote_addr"),
        ("Connection", "close"),
        ("Content-Length", "$proxy_internal_body_length"),
        ("Transfer-Encoding", "$proxy_internal_chunked"),
        ("TE", ""),
        ("Keep-Alive", ""),
        ("Expect", ""),
        ("Upgrade", ""),
    ]


def test_header_values_are_templates(read: Read) -> None:
    (header, *_) = location(
        read(one_location('proxy_set_header X-Client "$remote_addr:${remote_port}!";'))
    ).settings.proxy.headers
    assert header.value.parts == (
        Variable("remote_addr"),
        Literal(":"),
        Variable("remote_port"),
        Literal("!"),
    )


def test_a_header_set_in_a_location_replaces_every_inherited_header(read: Read) -> None:
    result = read(one_location("proxy_set_header B 2;", server_level="proxy_set_header A 1;"))
    assert [h.name for h in location(result).settings.proxy.headers][:2] == ["B", "Host"]


def test_headers_are_inherited_from_http_when_server_and_location_set_none(read: Read) -> None:
    result = read(one_location("", http_level="proxy_set_header A 1;"))
    assert location(result).settings.proxy.headers[0].name == "A"


def test_a_value_set_in_http_is_inherited_by_server_and_location(read: Read, conf_dir: Path) -> None:
    result = read(one_location("", http_level="proxy_read_timeout 5;"))
    settings = location(result).settings
    assert (settings.proxy.read_timeout, settings.defined["proxy_read_timeout"]) == (
        5000,
        Place(f"{conf_dir}/nginx.conf", 4),
    )


def test_the_nearest_level_wins(read: Read) -> None:
    result = read(
        one_location(
            "proxy_read_timeout 3;", http_level="proxy_read_timeout 1;", server_level="proxy_read_timeout 2;"
        )
    )
    assert (server(result).settings.proxy.read_timeout, location(result).settings.proxy.read_timeout) == (
        2000,
        3000,
    )


def test_a_nested_location_inherits_from_its_enclosing_location(read: Read) -> None:
    text = http_conf("server { listen 80; location / { client_max_body_size 5m; location /x/ { } } }")
    assert location(read(text)).locations[0].settings.client_max_body_size == 5 * 1024**2


def test_values_left_at_their_default_are_not_in_defined(read: Read) -> None:
    assert "proxy_read_timeout" not in location(read(one_location(""))).settings.defined
