"""The http core: `server`, `listen`, `server_name`, `location`, `client_max_body_size`, and how nginx
groups servers by address."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.http import LocationMatch

from .conftest import Certificates, LabSystem, Read, error, http, location, server


def http_conf(body: str) -> str:
    return f"events {{}}\nhttp {{\n{body}\n}}\n"


def emerg(read: Read, body: str) -> str:
    return error(read(http_conf(body)))


def test_listen_takes_an_address_and_its_parameters(read: Read, certificates: Certificates) -> None:
    pair = certificates.server
    body = (
        "server { listen 127.0.0.1:8443 ssl reuseport backlog=1024 bind; "
        f"ssl_certificate {pair.certificate}; ssl_certificate_key {pair.key}; }}"
    )
    (listen,) = server(read(http_conf(body))).listens
    assert (listen.address.text, listen.ssl, listen.reuseport, listen.backlog, listen.bind) == (
        "127.0.0.1:8443",
        True,
        True,
        1024,
        True,
    )


def test_listen_defaults_to_backlog_511_without_ssl_or_reuseport(read: Read) -> None:
    (listen,) = server(read(http_conf("server { listen 8080; }"))).listens
    assert (listen.ssl, listen.reuseport, listen.backlog, listen.bind, listen.default_server) == (
        False,
        False,
        511,
        False,
        False,
    )


def test_listen_default_server_and_default_mean_the_same(read: Read) -> None:
    servers = http(
        read(http_conf("server { listen 81 default_server; } server { listen 82 default; }"))
    ).servers
    assert [s.listens[0].default_server for s in servers] == [True, True]


def test_ipv6only_off_is_kept(read: Read) -> None:
    (listen,) = server(read(http_conf("server { listen [::]:8080 ipv6only=off; }"))).listens
    assert (listen.address.text, listen.ipv6only) == ("[::]:8080", False)


def test_a_server_without_listen_listens_on_port_80_as_root(read: Read) -> None:
    (listen,) = server(read(http_conf("server { }"))).listens
    assert (listen.address.text, listen.place) == ("0.0.0.0:80", None)


def test_a_server_without_listen_listens_on_port_8000_as_another_user(read: Read) -> None:
    result = read(http_conf("server { }"), system=LabSystem(root=False))
    assert server(result).listens[0].address.text == "0.0.0.0:8000"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("server { listen 8080 fast; }", 'invalid parameter "fast"'),
        ("server { listen 8080 backlog=0; }", 'invalid backlog "backlog=0"'),
        ("server { listen [::]:80 ipv6only=ox; }", 'invalid ipv6only flags "ox"'),
        ("server { listen [::]:80 ipv6only=yes; }", 'invalid parameter "ipv6only=yes"'),
        ("server { listen 0; }", 'invalid port in "0" of the "listen" directive'),
        (
            "server { listen nowhere.invalid:80; }",
            'host not found in "nowhere.invalid:80" of the "listen" directive',
        ),
        ("server { listen 8080; listen 8080; }", "a duplicate listen 0.0.0.0:8080"),
        (
            "server { listen 8080 backlog=8; } server { listen 8080 reuseport; }",
            "duplicate listen options for 0.0.0.0:8080",
        ),
        (
            "server { listen 80 default_server; } server { listen 80 default; }",
            "a duplicate default server for 0.0.0.0:80",
        ),
        (
            "server { listen 8080 http2; }",
            'hapair does not support the "http2" parameter in the "listen" directive',
        ),
    ],
)
def test_listen_errors(read: Read, body: str, message: str) -> None:
    assert emerg(read, body).startswith(f"nginx: [emerg] {message}")


def test_servers_on_the_same_address_share_a_listener_whose_default_is_the_first(read: Read) -> None:
    model = http(read(http_conf("server { listen 80; server_name a; } server { listen 80; server_name b; }")))
    (listener,) = model.listeners
    assert ([s.names for s in listener.servers], listener.default_server.names) == ([("a",), ("b",)], ("a",))


def test_default_server_takes_the_listener_default(read: Read) -> None:
    model = http(read(http_conf("server { listen 80; server_name a; } server { listen 80 default_server; }")))
    assert model.listeners[0].default_server is model.servers[1]


def test_socket_options_come_from_the_listen_that_sets_them(read: Read) -> None:
    model = http(read(http_conf("server { listen 80; } server { listen 80 backlog=64 reuseport; }")))
    (listener,) = model.listeners
    assert (listener.backlog, listener.reuseport) == (64, True)


def test_an_address_without_bind_is_served_by_the_wildcard_socket(read: Read) -> None:
    body = "server { listen 127.0.0.1:80; listen 127.0.0.2:80 bind; } server { listen 80; }"
    model = http(read(http_conf(body)))
    assert [(li.address.text, li.own_socket) for li in model.listeners] == [
        ("127.0.0.2:80", True),
        ("127.0.0.1:80", False),
        ("0.0.0.0:80", True),
    ]


def test_server_names_are_kept_in_lower_case(read: Read) -> None:
    assert server(
        read(http_conf("server { listen 80; server_name API.Example *.Example.org ~^A$; }"))
    ).names == (
        "api.example",
        "*.example.org",
        "~^A$",
    )


def test_a_server_without_server_name_has_the_empty_name(read: Read) -> None:
    assert server(read(http_conf("server { listen 80; }"))).names == ("",)


def test_hostname_names_the_machine(read: Read) -> None:
    assert server(read(http_conf("server { listen 80; server_name $hostname; }"))).names == ("node1.example",)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("server { server_name *; }", 'server name "*" is invalid'),
        ("server { server_name *x.org; }", 'server name "*x.org" is invalid'),
        ("server { server_name .; }", 'server name "." is invalid'),
        ("server { server_name ~; }", 'empty regex in server name "~"'),
    ],
)
def test_server_name_errors(read: Read, body: str, message: str) -> None:
    assert emerg(read, body).startswith(f"nginx: [emerg] {message} in ")


def test_a_server_name_with_a_slash_is_suspicious(read: Read, conf_dir: Path) -> None:
    result = read(http_conf("server { listen 80; server_name a/b; }"))
    assert [m.render() for m in result.reading] == [
        f'nginx: [warn] server name "a/b" has suspicious symbols in {conf_dir}/nginx.conf:3'
    ]


def test_a_name_taken_on_an_address_is_ignored_with_a_warning(read: Read) -> None:
    result = read(http_conf("server { listen 80; server_name a; } server { listen 80; server_name A .a; }"))
    assert [m.render() for m in result.reading] == [
        'nginx: [warn] conflicting server name "a" on 0.0.0.0:80, ignored',
        'nginx: [warn] conflicting server name ".a" on 0.0.0.0:80, ignored',
    ]


def test_two_servers_without_names_on_an_address_conflict(read: Read) -> None:
    result = read(http_conf("server { listen 80; } server { listen 80; }"))
    assert [m.text for m in result.reading] == ['conflicting server name "" on 0.0.0.0:80, ignored']


def test_a_wildcard_in_the_middle_is_invalid_on_a_shared_address(read: Read) -> None:
    assert emerg(read, "server { listen 80; server_name www.*.org; } server { listen 80; }") == (
        'nginx: [emerg] invalid server name or wildcard "www.*.org" on 0.0.0.0:80'
    )


def test_a_name_longer_than_46_bytes_does_not_fit_nginx_hash_bucket(read: Read) -> None:
    body = f"server {{ listen 80; server_name {'a' * 47}; }} server {{ listen 80; }}"
    assert emerg(read, body) == (
        "nginx: [emerg] could not build server_names_hash, "
        "you should increase server_names_hash_bucket_size: 64"
    )


@pytest.mark.parametrize(
    ("directive", "match", "path"),
    [
        ("location /api/", LocationMatch.PREFIX, "/api/"),
        ("location = /health", LocationMatch.EXACT, "/health"),
        ("location =/health", LocationMatch.EXACT, "/health"),
        ("location ^~ /static/", LocationMatch.PREFIX_NO_REGEX, "/static/"),
        ("location ~ \\.php$", LocationMatch.REGEX, "\\.php$"),
        ("location ~* \\.JPG$", LocationMatch.REGEX_CASELESS, "\\.JPG$"),
        ("location @fallback", LocationMatch.NAMED, "@fallback"),
    ],
)
def test_location_kinds(read: Read, directive: str, match: LocationMatch, path: str) -> None:
    found = location(read(http_conf(f"server {{ listen 80; {directive} {{ }} }}")))
    assert (found.match, found.path) == (match, path)


def test_a_caseless_regex_location_matches_without_case(read: Read) -> None:
    found = location(read(http_conf("server { listen 80; location ~* \\.jpg$ { } }")))
    assert found.pattern is not None and found.pattern.search("/A.JPG")


def test_pcre_named_groups_become_variables(read: Read) -> None:
    body = "server { listen 80; location ~ ^/(?<tenant>[a-z]+)/ { proxy_set_header X-Tenant $tenant; } }"
    found = location(read(http_conf(body)))
    assert found.pattern is not None and found.pattern.match("/acme/x").group("tenant") == "acme"  # type: ignore[union-attr]


def test_locations_nest(read: Read) -> None:
    found = location(read(http_conf("server { listen 80; location /a/ { location /a/b/ { } } }")))
    assert [inner.path for inner in found.locations] == ["/a/b/"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("location foo /a {}", 'invalid location modifier "foo"'),
        ("location = /a { location /a/b {} }", 'location "/a/b" cannot be inside the exact location "/a"'),
        ("location @a { location /b {} }", 'location "/b" cannot be inside the named location "@a"'),
        ("location /a { location @b {} }", 'named location "@b" can be on the server level only'),
        ("location /a { location /b {} }", 'location "/b" is outside location "/a"'),
        ("location ~ ( {}", 'hapair cannot compile the regular expression "("'),
    ],
)
def test_location_errors(read: Read, body: str, message: str) -> None:
    assert emerg(read, f"server {{ listen 80; {body} }}").startswith(f"nginx: [emerg] {message}")


@pytest.mark.parametrize(
    "body",
    [
        "location /a {} location /a {}",
        "location ^~ /a {} location /a {}",
        "location = /a {} location = /a {}",
    ],
)
def test_duplicate_locations_are_reported_at_the_second(read: Read, conf_dir: Path, body: str) -> None:
    first, second = body.split("} ")
    result = read(f"events {{}}\nhttp {{\nserver {{ listen 80;\n{first}}}\n{second}\n}}\n}}\n")
    assert error(result) == f'nginx: [emerg] duplicate location "/a" in {conf_dir}/nginx.conf:5'


def test_an_exact_and_a_prefix_location_may_share_a_name(read: Read) -> None:
    assert (
        len(server(read(http_conf("server { listen 80; location = /a {} location /a {} }"))).locations) == 2
    )


def test_regex_locations_may_repeat(read: Read) -> None:
    assert (
        len(server(read(http_conf("server { listen 80; location ~ /a {} location ~ /a {} }"))).locations) == 2
    )


def test_client_max_body_size_defaults_to_1m(read: Read) -> None:
    assert server(read(http_conf("server { listen 80; }"))).settings.client_max_body_size == 1024 * 1024


def test_client_max_body_size_takes_sizes_up_to_gigabytes(read: Read) -> None:
    assert server(
        read(http_conf("client_max_body_size 2g; server { listen 80; }"))
    ).settings.client_max_body_size == (2 * 1024**3)


def test_client_max_body_size_errors(read: Read) -> None:
    assert emerg(read, "client_max_body_size 1t;").startswith(
        'nginx: [emerg] "client_max_body_size" directive invalid value in '
    )


def test_a_second_http_block_is_a_duplicate(read: Read) -> None:
    assert error(read("events {}\nhttp {}\nhttp {}\n")).startswith(
        'nginx: [emerg] "http" directive is duplicate in '
    )
