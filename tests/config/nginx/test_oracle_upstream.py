"""The real `nginx -t` beside `hapair proxy -t` on the balancing methods and the upstream `server`
parameters, in test_oracle.py's way: same exit status and the same lines on stderr, for every directive
and parameter error nginx 1.22 gives there (and the commercial-only parameters and directives, which
nginx OSS does not know). The one deliberate difference, a zone too small for its peers, is asserted as
such."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

S = "server 127.0.0.1;"  # a server line, for http groups
T = "server 127.0.0.1:1;"  # for stream groups

CASES = [
    # the methods, and what each allows
    f"http {{ upstream u {{ ip_hash; {S} server 127.0.0.2 weight=2 max_conns=3 max_fails=2 "
    "fail_timeout=5s down; } }",
    f"http {{ upstream u {{ ip_hash; {S} server 127.0.0.2 backup; }} }}",
    f"http {{ upstream u {{ {S} server 127.0.0.2 backup; ip_hash; }} }}",
    f"http {{ upstream u {{ hash $request_uri; {S} }} }}",
    f"http {{ upstream u {{ hash $cookie_id$arg_k consistent; {S} }} }}",
    f"http {{ upstream u {{ hash $arg_k; server 127.0.0.2 backup; {S} }} }}",
    f"http {{ upstream u {{ {S} server 127.0.0.2 backup; hash $arg_k; }} }}",
    f'http {{ upstream u {{ hash ""; {S} }} }}',
    f"http {{ upstream u {{ hash $1; {S} }} }}",
    f"http {{ upstream u {{ hash; {S} }} }}",
    f"http {{ upstream u {{ hash $a b c; {S} }} }}",
    f"http {{ upstream u {{ hash $arg_k ketama; {S} }} }}",
    f"http {{ upstream u {{ least_conn; hash $arg_k ketama; {S} }} }}",
    f"http {{ upstream u {{ hash $; {S} }} }}",
    f"http {{ upstream u {{ hash ${{a; {S} }} }}",
    f"http {{ upstream u {{ hash $nosuch; {S} }} }}",
    f"http {{ upstream u {{ random; {S} }} }}",
    f"http {{ upstream u {{ random two; {S} }} }}",
    f"http {{ upstream u {{ random two least_conn; {S} server 127.0.0.2 max_conns=1; }} }}",
    f"http {{ upstream u {{ random; server 127.0.0.2 backup; {S} }} }}",
    f"http {{ upstream u {{ random three; {S} }} }}",
    f"http {{ upstream u {{ random least_conn; {S} }} }}",
    f"http {{ upstream u {{ random two most_conn; {S} }} }}",
    f"http {{ upstream u {{ random two least_conn x; {S} }} }}",
    f"http {{ upstream u {{ least_conn; server 127.0.0.2 backup; {S} }} }}",
    # load balancing method redefined, keepalive
    f"http {{ upstream u {{ ip_hash; ip_hash; {S} }} }}",
    f"http {{ upstream u {{ hash $arg_k consistent; hash $arg_j; {S} }} }}",
    f"http {{ upstream u {{ random two; least_conn; server 127.0.0.2 backup; {S} }} }}",
    f"http {{ upstream u {{ keepalive 2; ip_hash; {S} }} }}",
    f"http {{ upstream u {{ hash $remote_addr; keepalive 4; {S} }} }}",
    f"http {{ upstream u {{ ip_hash {S} }} }}",
    f"stream {{ upstream u {{ ip_hash; {T} }} }}",
    # server parameters
    "http { upstream u { server 127.0.0.1 max_conns=0; } }",
    "http { upstream u { server 127.0.0.1 max_conns=x; } }",
    "http { upstream u { server 127.0.0.1 max_conns=-1; } }",
    "http { upstream u { server 127.0.0.1 max_conns=; } }",
    "http { upstream u { server 127.0.0.1 slow_start=10s; } }",
    "http { upstream u { server 127.0.0.1 resolve; } }",
    "http { upstream u { server 127.0.0.1 drain; } }",
    "http { upstream u { server 127.0.0.1 service=http; } }",
    "http { upstream u { server 127.0.0.1 route=a; } }",
    f"http {{ upstream u {{ {S} sticky cookie srv; }} }}",
    f"http {{ upstream u {{ {S} ntlm; }} }}",
    f"http {{ upstream u {{ {S} least_time header; }} }}",
    f"http {{ upstream u {{ {S} queue 10 timeout=5s; }} }}",
    f"http {{ upstream u {{ {S} resolver 127.0.0.1; }} }}",
    # zone
    f"http {{ upstream u {{ zone z 64k; {S} }} }}",
    f"http {{ upstream u {{ zone z; {S} }} }}",
    f"http {{ upstream u {{ zone z 10k; {S} }} }}",
    f"http {{ upstream u {{ zone z 0; {S} }} }}",
    f"http {{ upstream u {{ zone z foo; {S} }} }}",
    f'http {{ upstream u {{ zone "" 1m; {S} }} }}',
    f"http {{ upstream u {{ zone z 1m 2; {S} }} }}",
    f"http {{ upstream u {{ zone z 1m; zone y; {S} }} }}",
    f"http {{ upstream u {{ zone z 1m; zone z 1m; {S} }} }}",
    f"http {{ upstream u {{ zone z; {S} }} upstream v {{ zone z 64k; {S} }} }}",
    f"http {{ upstream u {{ zone z 1m; {S} }} upstream v {{ zone z 2m; {S} }} }}",
    f"http {{ ssl_session_cache shared:z:1m; upstream u {{ zone z 1m; {S} }} }}",
    f"http {{ upstream u {{ zone z 1m; {S} }} ssl_session_cache shared:z:1m; }}",
    f"http {{ upstream u {{ zone z 1m; {S} }} }} stream {{ upstream v {{ zone z 1m; {T} }} }}",
    f"http {{ zone z 1m; upstream u {{ {S} }} }}",
    f"http {{ upstream u {{ zone z; {S} }} server {{ listen 38081; access_log /nonexistent/x.log; }} }}",
    # stream
    f"stream {{ upstream u {{ hash $remote_addr consistent; zone s 64k; {T} "
    "server 127.0.0.1:2 max_conns=2; } server { listen 38091; proxy_pass u; } }",
    f"stream {{ upstream u {{ hash $remote_addr; hash $remote_addr consistent; {T} }} }}",
    f"stream {{ upstream u {{ hash $1; {T} }} }}",
    f"stream {{ upstream u {{ hash $nosuch; {T} }} }}",
    f"stream {{ upstream u {{ hash $arg_x; {T} }} }}",
    f"stream {{ upstream u {{ hash $remote_addr x; {T} }} }}",
    f"stream {{ upstream u {{ random two least_conn; {T} }} }}",
    f"stream {{ upstream u {{ random; server 127.0.0.1:2 backup; {T} }} }}",
    f"stream {{ upstream u {{ random; least_conn; server 127.0.0.1:2 backup; {T} }} }}",
    f"stream {{ upstream u {{ random two x; {T} }} }}",
    f"stream {{ upstream u {{ zone s; {T} }} }}",
    f"stream {{ upstream u {{ zone s 1k; {T} }} }}",
    "stream { upstream u { server 127.0.0.1:1 max_conns=1 slow_start=1; } }",
    f"stream {{ upstream u {{ {T} least_time connect; }} }}",
]


@pytest.fixture
def prefix(tmp_path: Path) -> Path:
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.mark.parametrize("case", CASES)
def test_hapair_answers_as_nginx(prefix: Path, case: str) -> None:
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + case + "\n")
    assert hapair_t(conf, prefix) == nginx_t(conf, prefix)


def test_a_zone_too_small_for_its_peers_fails_nginx_only(prefix: Path) -> None:
    """nginx copies the peers into the zone at start (-t too); hapair reserves no memory for a zone."""
    servers = " ".join(f"server 127.0.0.{i}:80;" for i in range(1, 18))
    conf = prefix / "nginx.conf"
    conf.write_text(HEAD + f"http {{ upstream u {{ zone z 32k; {servers} }} }}\n")
    (nginx_status, nginx_lines), (hapair_status, _) = nginx_t(conf, prefix), hapair_t(conf, prefix)
    assert (nginx_status, nginx_lines[1], hapair_status) == (
        1,
        'nginx: [crit] ngx_slab_alloc() failed: no memory in upstream zone "z"',
        0,
    )
