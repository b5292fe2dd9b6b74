"""`health_check` and `match` (NGINX Plus's syntax, hapair's extension): the forms accepted, with NGINX
Plus's defaults, and the refusals with file and line. nginx 1.22 does not know them at all (the last
test runs it)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from hapair.config.nginx.model.health import HeaderCondition, StatusCondition

from .conftest import Read, error, http, stream


def http_conf(location: str, top: str = "", zone: str = "zone u 64k;") -> str:
    return (
        "events {}\nhttp {\n"
        f"upstream u {{ {zone} server 127.0.0.1:9001; server 127.0.0.1:9002 backup; }}\n"
        f"{top}\n"
        f"server {{ listen 127.0.0.1:8080; location / {{ {location} }} }}\n"
        "}\n"
    )


def stream_conf(server: str, top: str = "") -> str:
    return (
        "events {}\nstream {\n"
        "upstream t { zone t 64k; server 127.0.0.1:9003; }\n"
        f"{top}\n"
        f"server {{ listen 127.0.0.1:8081; {server} }}\n"
        "}\n"
    )


def test_health_check_has_nginx_plus_defaults(read: Read) -> None:
    (check,) = http(read(http_conf("proxy_pass http://u; health_check;"))).health_checks
    assert (check.interval_ms, check.jitter_ms, check.fails, check.passes, check.uri, check.port) == (
        5000,
        0,
        1,
        1,
        "/",
        0,
    )
    assert (check.match, check.mandatory, check.persistent, check.stream) == (None, False, False, False)
    assert check.upstream.name == "u"


def test_health_check_parameters_and_match_are_read(read: Read) -> None:
    top = (
        "match ok { status ! 500-599 404; header X-A; header ! X-B; header C = v; "
        'header D ~ "^x"; body !~ "down"; }'
    )
    line = (
        "health_check interval=2s jitter=100ms fails=3 passes=2 uri=/h port=81 match=ok mandatory persistent;"
    )
    (check,) = http(read(http_conf(f"proxy_pass http://u; {line}", top))).health_checks
    assert (check.interval_ms, check.jitter_ms, check.fails, check.passes, check.uri, check.port) == (
        2000,
        100,
        3,
        2,
        "/h",
        81,
    )
    assert check.mandatory and check.persistent
    assert check.match is not None
    assert check.match.statuses == (StatusCondition(((500, 599), (404, 404)), True),)
    assert [(h.name, h.operator, h.value) for h in check.match.headers] == [
        ("X-A", "", ""),
        ("X-B", "!", ""),
        ("C", "=", "v"),
        ("D", "~", "^x"),
    ]
    assert isinstance(check.match.headers[0], HeaderCondition)
    assert check.match.bodies[0].negated


def test_stream_health_check_with_send_and_expect(read: Read) -> None:
    top = r'match hi { send "PING\r\n"; expect ~ "PONG"; }'
    (check,) = stream(
        read(stream_conf("proxy_pass t; health_check interval=1s match=hi;", top))
    ).health_checks
    assert check.stream and check.match is not None
    assert check.match.send == b"PING\r\n"
    assert check.match.expect_pattern is not None and check.match.expect_pattern.pattern == b"PONG"


@pytest.mark.parametrize(
    ("location", "top", "zone", "message", "line"),
    [
        ("proxy_pass http://u; health_check fails=0;", "", "zone u 64k;", 'invalid parameter "fails=0"', 5),
        (
            "proxy_pass http://u; health_check interval=x;",
            "",
            "zone u 64k;",
            'invalid parameter "interval=x"',
            5,
        ),
        ("proxy_pass http://u; health_check uri=h;", "", "zone u 64k;", 'invalid parameter "uri=h"', 5),
        (
            "proxy_pass http://u; health_check port=70000;",
            "",
            "zone u 64k;",
            'invalid parameter "port=70000"',
            5,
        ),
        (
            "proxy_pass http://u; health_check persistent;",
            "",
            "zone u 64k;",
            '"persistent" requires "mandatory"',
            5,
        ),
        (
            "proxy_pass http://u; health_check type=grpc;",
            "",
            "zone u 64k;",
            'hapair does not support the "type" parameter in the "health_check" directive',
            5,
        ),
        (
            "proxy_pass http://u; health_check;",
            "",
            "",
            'health check requires upstream "u" to reside in shared memory',
            5,
        ),
        ("health_check;", "", "zone u 64k;", 'health check requires an upstream group in "proxy_pass"', 5),
        ("proxy_pass http://u; health_check match=nope;", "", "zone u 64k;", 'match "nope" not found', 5),
        ("proxy_pass http://u;", "match m { status 9; }", "zone u 64k;", 'invalid status "9" in match', 4),
        (
            "proxy_pass http://u;",
            "match m { send x; }",
            "zone u 64k;",
            'unknown directive "send" in match',
            4,
        ),
        (
            "proxy_pass http://u;",
            "match m { status 200; } match m { }",
            "zone u 64k;",
            'duplicate match "m"',
            4,
        ),
        (
            "proxy_pass http://u;",
            "match m { require $x; }",
            "zone u 64k;",
            'hapair does not support the "require" condition in a "match" block',
            4,
        ),
    ],
)
def test_health_check_refusals_name_file_and_line(
    read: Read, conf_dir: Path, location: str, top: str, zone: str, message: str, line: int
) -> None:
    assert (
        error(read(http_conf(location, top, zone)))
        == f"nginx: [emerg] {message} in {conf_dir}/nginx.conf:{line}"
    )


def test_health_check_is_not_allowed_at_server_level(read: Read, conf_dir: Path) -> None:
    conf = "events {}\nhttp {\nserver {\nhealth_check;\n}\n}\n"
    assert (
        error(read(conf))
        == f'nginx: [emerg] "health_check" directive is not allowed here in {conf_dir}/nginx.conf:4'
    )


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(), reason="no nginx")
def test_nginx_itself_does_not_know_health_check(conf_dir: Path) -> None:
    path = conf_dir / "nginx.conf"
    path.write_text(http_conf("proxy_pass http://u; health_check;"))
    done = subprocess.run(
        ["/usr/sbin/nginx", "-t", "-p", f"{conf_dir}/", "-c", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert f'unknown directive "health_check" in {path}:5' in done.stderr
