"""`upstream` blocks (`server` with its parameters, the balancing methods, `zone`, `keepalive`), and the
groups nginx makes for a `proxy_pass` that names a host."""

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
        ("server 192.0.2.1 max_conns=x;", 'invalid parameter "max_conns=x"'),
        ("server 192.0.2.1 max_conns=-1;", 'invalid parameter "max_conns=-1"'),
        ("server 192.0.2.1 slow_start=10s;", 'invalid parameter "slow_start=10s"'),
        ("server 192.0.2.1 resolve;", 'invalid parameter "resolve"'),
        ("server 192.0.2.1 drain;", 'invalid parameter "drain"'),
        ("ip_hash; server 192.0.2.1 backup;", 'balancing method does not support parameter "backup"'),
        ("hash $arg_k; server 192.0.2.1 backup;", 'balancing method does not support parameter "backup"'),
        ("random two; server 192.0.2.1 backup;", 'balancing method does not support parameter "backup"'),
        ("server 192.0.2.1; hash $arg_k ketama;", 'invalid parameter "ketama"'),
        ("server 192.0.2.1; hash $;", "invalid variable name"),
        ("server 192.0.2.1; random one;", 'invalid parameter "one"'),
        ("server 192.0.2.1; random two most_conn;", 'invalid parameter "most_conn"'),
        ("server 192.0.2.1; zone z foo;", 'invalid zone size "foo"'),
        ("server 192.0.2.1; zone z 32767;", 'zone "z" is too small'),
        ('server 192.0.2.1; zone "" 64k;', 'invalid zone name ""'),
        ("server 192.0.2.1; sticky cookie srv;", 'unknown directive "sticky"'),
        ("server 192.0.2.1; ntlm;", 'unknown directive "ntlm"'),
        ("server 192.0.2.1; least_time header;", 'unknown directive "least_time"'),
        ("server 192.0.2.1; queue 10;", 'unknown directive "queue"'),
        ("server 192.0.2.1; keepalive 0;", 'invalid value "0" in "keepalive" directive'),
        ("server 192.0.2.1; keepalive 8; keepalive 8;", '"keepalive" directive is duplicate'),
        ("server 192.0.2.1; keepalive_timeout x;", '"keepalive_timeout" directive invalid value'),
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


def test_max_conns_is_read_and_0_means_no_limit(read: Read) -> None:
    servers = (
        http(read(with_upstream("server 192.0.2.1 max_conns=3; server 192.0.2.2 max_conns=0;")))
        .upstreams[0]
        .servers
    )
    assert [s.max_conns for s in servers] == [3, 0]


@pytest.mark.parametrize(
    ("method", "balancing", "key"),
    [
        ("ip_hash;", Balancing.IP_HASH, None),
        ("hash $request_uri;", Balancing.HASH, "$request_uri"),
        ("hash $cookie_id$arg_k consistent;", Balancing.CONSISTENT_HASH, "$cookie_id$arg_k"),
        ("random;", Balancing.RANDOM, None),
        ("random two;", Balancing.RANDOM_TWO, None),
        ("random two least_conn;", Balancing.RANDOM_TWO, None),
    ],
)
def test_balancing_methods_are_read(read: Read, method: str, balancing: Balancing, key: str | None) -> None:
    (group,) = http(
        read(with_upstream(f"{method} server 192.0.2.1; server 192.0.2.2 weight=2 down;"))
    ).upstreams
    assert (group.balancing, group.hash_key.source if group.hash_key else None) == (balancing, key)


def test_the_last_method_wins_with_nginx_warning(read: Read, conf_dir: Path) -> None:
    result = read(with_upstream("hash $arg_k; ip_hash; server 192.0.2.1;"))
    assert (http(result).upstreams[0].balancing, [m.render() for m in result.reading]) == (
        Balancing.IP_HASH,
        [f"nginx: [warn] load balancing method redefined in {conf_dir}/nginx.conf:3"],
    )


def test_a_hash_key_variable_nginx_does_not_know_is_reported_without_a_place(read: Read) -> None:
    assert error(read(with_upstream("hash $nosuch; server 192.0.2.1;"))) == (
        'nginx: [emerg] unknown "nosuch" variable'
    )


def test_a_backup_server_before_the_method_is_kept_as_nginx_keeps_it(read: Read) -> None:
    (group,) = http(read(with_upstream("server 192.0.2.1; server 192.0.2.2 backup; hash $arg_k;"))).upstreams
    assert [s.backup for s in group.servers] == [False, True]


def test_a_method_before_keepalive_keeps_connections(read: Read) -> None:
    (group,) = http(read(with_upstream("ip_hash; keepalive 4; server 192.0.2.1;"))).upstreams
    assert (group.balancing, group.keepalive is not None) == (Balancing.IP_HASH, True)


def test_zone_names_the_groups_zone_and_its_size_may_come_from_another_group(read: Read) -> None:
    text = (
        "events {}\nhttp {\nupstream u { zone shared; server 192.0.2.1; }\n"
        "upstream v { zone shared 64k; server 192.0.2.2; }\n}\n"
    )
    assert [group.zone for group in http(read(text)).upstreams] == ["shared", "shared"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "upstream u { zone z 64k; server 192.0.2.1; } upstream v { zone z 128k; server 192.0.2.1; }",
            'the size 131072 of shared memory zone "z" conflicts with already declared size 65536 in ',
        ),
        (
            "ssl_session_cache shared:z:1m; upstream u { zone z 1m; server 192.0.2.1; }",
            'the shared memory zone "z" is already declared for a different use in ',
        ),
        ("upstream u { zone z; server 192.0.2.1; }", 'zero size shared memory zone "z"'),
    ],
)
def test_shared_memory_zone_errors(read: Read, body: str, message: str) -> None:
    assert error(read(f"events {{}}\nhttp {{\n{body}\n}}\n")).startswith(f"nginx: [emerg] {message}")
