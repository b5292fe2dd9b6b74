"""`upstream` blocks (`server` with its parameters, `least_conn`, `keepalive`), and the groups nginx makes
for a `proxy_pass` that names a host."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.upstream import Balancing, Keepalive

from .conftest import Read, error, http


def with_upstream(body: str, proxy_pass: str = "http://u") -> str:
    return (
        "events {}\nhttp {\n"
        f"upstream u {{ {body} }}\n"
        f"server {{ listen 80; location / {{ proxy_pass {proxy_pass}; }} }}\n}}\n"
    )


def test_a_server_defaults_to_weight_1_max_fails_1_fail_timeout_10s(read: Read) -> None:
    ((server,),) = [u.servers for u in http(read(with_upstream("server 192.0.2.1:8080;"))).upstreams]
    assert (
        server.name,
        server.weight,
        server.max_fails,
        server.fail_timeout,
        server.backup,
        server.down,
    ) == (
        "192.0.2.1:8080",
        1,
        1,
        10,
        False,
        False,
    )


def test_server_parameters_are_read(read: Read) -> None:
    body = (
        "server 192.0.2.1 weight=5 max_fails=0 fail_timeout=1m; "
        "server 192.0.2.2 backup; server 192.0.2.3 down;"
    )
    servers = http(read(with_upstream(body))).upstreams[0].servers
    assert [(s.weight, s.max_fails, s.fail_timeout, s.backup, s.down) for s in servers] == [
        (5, 0, 60, False, False),
        (1, 1, 10, True, False),
        (1, 1, 10, False, True),
    ]


def test_a_server_without_port_uses_port_80(read: Read) -> None:
    servers = http(read(with_upstream("server 192.0.2.1;"))).upstreams[0].servers
    assert [a.text for a in servers[0].addresses] == ["192.0.2.1:80"]


def test_a_server_name_is_resolved_when_the_configuration_is_read(read: Read) -> None:
    servers = http(read(with_upstream("server backend.example:9000;"))).upstreams[0].servers
    assert [a.text for a in servers[0].addresses] == ["192.0.2.10:9000", "192.0.2.11:9000"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("server 192.0.2.1 weight=0;", 'invalid parameter "weight=0"'),
        ("server 192.0.2.1 max_fails=x;", 'invalid parameter "max_fails=x"'),
        ("server 192.0.2.1 fail_timeout=1q;", 'invalid parameter "fail_timeout=1q"'),
        ("server 192.0.2.1 slow;", 'invalid parameter "slow"'),
        ("server nowhere.invalid;", 'host not found in upstream "nowhere.invalid"'),
        ("server 192.0.2.1:0;", 'invalid port in upstream "192.0.2.1:0"'),
        ("server 192.0.2.1 max_conns=10;", 'hapair does not support the "max_conns=" parameter'),
        ("server 192.0.2.1; keepalive 0;", 'invalid value "0" in "keepalive" directive'),
        ("server 192.0.2.1; keepalive 8; keepalive 8;", '"keepalive" directive is duplicate'),
        ("server 192.0.2.1; keepalive_timeout x;", '"keepalive_timeout" directive invalid value'),
        ("server 192.0.2.1; ip_hash;", 'hapair does not support the "ip_hash" directive'),
    ],
)
def test_upstream_errors(read: Read, body: str, message: str) -> None:
    assert error(read(with_upstream(body))).startswith(f"nginx: [emerg] {message}")


def test_an_upstream_needs_a_server(read: Read, conf_dir: Path) -> None:
    assert error(read("events {}\nhttp {\nupstream u {\n}\n}\n")) == (
        f"nginx: [emerg] no servers are inside upstream in {conf_dir}/nginx.conf:4"
    )


def test_an_upstream_needs_a_server_that_is_not_a_backup(read: Read, conf_dir: Path) -> None:
    assert error(read(with_upstream("server 192.0.2.1 backup;"))) == (
        f'nginx: [emerg] no servers in upstream "u" in {conf_dir}/nginx.conf:3'
    )


def test_upstream_names_are_unique_without_case(read: Read) -> None:
    text = "events {}\nhttp { upstream u { server 192.0.2.1; } upstream U { server 192.0.2.1; } }\n"
    assert error(read(text)).startswith('nginx: [emerg] duplicate upstream "U" in ')


def test_round_robin_is_the_default_balancing(read: Read) -> None:
    assert http(read(with_upstream("server 192.0.2.1;"))).upstreams[0].balancing is Balancing.ROUND_ROBIN


def test_least_conn_selects_the_least_connected_server(read: Read) -> None:
    assert (
        http(read(with_upstream("least_conn; server 192.0.2.1;"))).upstreams[0].balancing
        is Balancing.LEAST_CONN
    )


def test_keepalive_keeps_idle_connections_with_nginx_defaults(read: Read) -> None:
    assert http(read(with_upstream("server 192.0.2.1; keepalive 16;"))).upstreams[0].keepalive == Keepalive(
        16, 60_000, 1000, 3_600_000
    )


def test_keepalive_settings_are_read(read: Read) -> None:
    body = "server 192.0.2.1; keepalive 16; keepalive_timeout 5s; keepalive_requests 10; keepalive_time 10m;"
    assert http(read(with_upstream(body))).upstreams[0].keepalive == Keepalive(16, 5000, 10, 600_000)


def test_a_balancing_method_after_keepalive_disables_it_with_nginx_warning(
    read: Read, conf_dir: Path
) -> None:
    result = read(with_upstream("server 192.0.2.1; keepalive 16; least_conn;"))
    assert (http(result).upstreams[0].keepalive, [m.render() for m in result.reading]) == (
        None,
        [f"nginx: [warn] load balancing method redefined in {conf_dir}/nginx.conf:3"],
    )


def test_proxy_pass_to_an_address_makes_an_implicit_group_of_one_peer(read: Read) -> None:
    text = "events {}\nhttp { server { listen 80; location / { proxy_pass http://192.0.2.9:8080; } } }\n"
    (group,) = http(read(text)).upstreams
    (peer,) = group.servers
    assert (group.name, group.implicit, [a.text for a in peer.addresses], peer.max_fails) == (
        "192.0.2.9",
        True,
        ["192.0.2.9:8080"],
        0,
    )


def test_proxy_pass_to_a_host_name_is_resolved_when_the_block_ends(read: Read) -> None:
    text = "events {}\nhttp { server { listen 80; location / { proxy_pass https://backend.example; } } }\n"
    (group,) = http(read(text)).upstreams
    assert [a.text for a in group.servers[0].addresses] == ["192.0.2.10:443", "192.0.2.11:443"]


def test_proxy_pass_to_an_unknown_host_is_host_not_found(read: Read, conf_dir: Path) -> None:
    text = "events {}\nhttp {\nserver { listen 80;\nlocation / { proxy_pass http://k8s-api-8080; } } }\n"
    assert (
        error(read(text))
        == f'nginx: [emerg] host not found in upstream "k8s-api-8080" in {conf_dir}/nginx.conf:4'
    )


def test_proxy_pass_finds_an_upstream_defined_after_it(read: Read) -> None:
    text = (
        "events {}\nhttp { server { listen 80; location / { proxy_pass http://U; } } "
        "upstream u { server 192.0.2.1; } }\n"
    )
    model = http(read(text))
    target = model.servers[0].locations[0].settings.proxy.target
    assert target is not None and target.upstream is model.upstreams[0] and not target.upstream.implicit


def test_proxy_pass_with_a_port_to_an_upstream_is_an_error(read: Read) -> None:
    assert error(read(with_upstream("server 192.0.2.1;", "http://u:81"))).startswith(
        'nginx: [emerg] upstream "u" may not have port 81 in '
    )
