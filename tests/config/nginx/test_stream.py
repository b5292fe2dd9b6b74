"""The `stream` block: servers with `listen` and `proxy_pass`, upstream groups, timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.upstream import Balancing

from .conftest import Read, error, stream


def stream_conf(body: str) -> str:
    return f"events {{}}\nstream {{\n{body}\n}}\n"


def test_a_server_relays_to_an_upstream_group_with_nginx_default_timeouts(read: Read) -> None:
    body = "upstream api { server 192.0.2.1:6443; } server { listen 6443; proxy_pass api; }"
    (server,) = stream(read(stream_conf(body))).servers
    assert (
        [listen.address.text for listen in server.listens],
        server.proxy.upstream.name,
        server.proxy.connect_timeout,
        server.proxy.timeout,
    ) == (["0.0.0.0:6443"], "api", 60_000, 600_000)


def test_timeouts_are_read_and_inherited_from_the_stream_block(read: Read) -> None:
    body = "proxy_timeout 30s; server { listen 6443; proxy_pass 192.0.2.1:6443; proxy_connect_timeout 2s; }"
    (server,) = stream(read(stream_conf(body))).servers
    assert (server.proxy.connect_timeout, server.proxy.timeout) == (2000, 30_000)


def test_listen_parameters_are_read(read: Read) -> None:
    body = "server { listen 127.0.0.1:6443 reuseport backlog=100; proxy_pass 192.0.2.1:6443; }"
    ((listen,),) = [server.listens for server in stream(read(stream_conf(body))).servers]
    assert (listen.reuseport, listen.backlog, listen.bind, listen.own_socket) == (True, 100, True, True)


def test_an_address_without_bind_is_served_by_the_wildcard_socket(read: Read) -> None:
    body = (
        "server { listen 127.0.0.1:6443; proxy_pass 192.0.2.1:1; }\n"
        "server { listen 6443; proxy_pass 192.0.2.1:2; }"
    )
    servers = stream(read(stream_conf(body))).servers
    assert [server.listens[0].own_socket for server in servers] == [False, True]


def test_proxy_pass_to_an_address_makes_an_implicit_group(read: Read) -> None:
    body = "server { listen 6443; proxy_pass 192.0.2.1:6443; }"
    (group,) = stream(read(stream_conf(body))).upstreams
    assert (group.implicit, [a.text for s in group.servers for a in s.addresses]) == (
        True,
        ["192.0.2.1:6443"],
    )


def test_upstream_servers_take_their_parameters_and_least_conn(read: Read) -> None:
    body = (
        "upstream api { least_conn; server 192.0.2.1:6443 weight=3 max_fails=2 fail_timeout=5s; "
        "server 192.0.2.2:6443 backup; } server { listen 6443; proxy_pass api; }"
    )
    (group,) = stream(read(stream_conf(body))).upstreams
    assert (group.balancing, [(s.weight, s.max_fails, s.fail_timeout, s.backup) for s in group.servers]) == (
        Balancing.LEAST_CONN,
        [(3, 2, 5, False), (1, 1, 10, True)],
    )


@pytest.mark.parametrize(
    ("method", "balancing"),
    [
        ("hash $remote_addr consistent;", Balancing.CONSISTENT_HASH),
        ("hash $remote_addr;", Balancing.HASH),
        ("random two least_conn;", Balancing.RANDOM_TWO),
    ],
)
def test_stream_upstreams_take_the_hash_and_random_methods_and_max_conns(
    read: Read, method: str, balancing: Balancing
) -> None:
    body = (
        f"upstream api {{ {method} zone api 64k; server 192.0.2.1:6443 max_conns=2; }} "
        "server { listen 6443; proxy_pass api; }"
    )
    (group,) = stream(read(stream_conf(body))).upstreams
    assert (group.balancing, group.zone, group.servers[0].max_conns) == (balancing, "api", 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("server { proxy_pass 192.0.2.1:1; }", 'no "listen" is defined for server'),
        ("server { listen 6443; }", "no handler for server"),
        ("server { listen 6443; proxy_pass api; }", 'no port in upstream "api"'),
        (
            "server { listen 6443; proxy_pass nowhere.invalid:1; }",
            'host not found in upstream "nowhere.invalid"',
        ),
        ("upstream api { server 192.0.2.1; }", 'no port in upstream "192.0.2.1"'),
        ("upstream api { ip_hash; server 192.0.2.1:1; }", '"ip_hash" directive is not allowed here'),
        ("upstream api { hash $arg_k; server 192.0.2.1:1; }", 'unknown "arg_k" variable'),
        (
            "upstream api { random; server 192.0.2.1:1 backup; }",
            'balancing method does not support parameter "backup"',
        ),
        ("upstream api { server 192.0.2.1:1 slow_start=1s; }", 'invalid parameter "slow_start=1s"'),
        ("upstream api { server 192.0.2.1:1; least_time connect; }", 'unknown directive "least_time"'),
        ("server { listen 6443 fast; proxy_pass 192.0.2.1:1; }", 'the invalid "fast" parameter'),
        (
            "server { listen unix:/run/x.sock udp; proxy_pass 192.0.2.1:1; }",
            'hapair does not support "udp" on a unix socket',
        ),
        (
            "server { listen 6443 ssl; proxy_pass 192.0.2.1:1; }",
            'no "ssl_certificate" is defined for the "listen ... ssl" directive',
        ),
        ("server { listen 6443; proxy_pass $upstream; }", 'unknown "upstream" variable'),
        (
            "server { listen 6443; proxy_pass 192.0.2.1:1; } server { listen 6443; proxy_pass 192.0.2.1:1; }",
            'duplicate "0.0.0.0:6443" address and port pair',
        ),
        (
            "server { listen 6443; proxy_pass a:1; } upstream a { server 192.0.2.1:1; }",
            'upstream "a" may not have port 1',
        ),
        ("log_format a '$host';", 'unknown "host" variable'),
        (
            "server { listen 6443; proxy_pass 192.0.2.1:1; proxy_timeout x; }",
            '"proxy_timeout" directive invalid value',
        ),
    ],
)
def test_stream_errors(read: Read, body: str, message: str) -> None:
    assert error(read(stream_conf(body))).startswith(f"nginx: [emerg] {message}")


def test_a_server_without_listen_is_reported_at_the_server(read: Read, conf_dir: Path) -> None:
    assert error(read("events {}\nstream {\n\nserver {\nproxy_pass 192.0.2.1:1;\n}\n}\n")) == (
        f'nginx: [emerg] no "listen" is defined for server in {conf_dir}/nginx.conf:4'
    )


def test_a_second_stream_block_is_a_duplicate(read: Read) -> None:
    assert error(read("events {}\nstream {}\nstream {}\n")).startswith(
        'nginx: [emerg] "stream" directive is duplicate'
    )
