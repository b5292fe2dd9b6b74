"""What the access-control modules cost a request, in microseconds, step by step, in one process:

    .venv/bin/python bench/access.py [--requests 20000]

Each module's step runs on a request of its own, as a location made by `hapair.proxy.http.phases` from a
configuration read by hapair's reader: realip (an X-Forwarded-For of three addresses, recursive),
allow/deny (three rules), auth_basic ({PLAIN} and $apr1$ users in a small file, read per request as
nginx does), limit_req (a key already in the zone, within the rate: the zone's lock, a lookup and an
update), limit_conn (a count taken and given back: two lock rounds, a node allocated and freed), and the
bare zone lock (an fcntl record lock and its release). The zones are the shared memory zones the master
makes (a memfd, nginx's slab pool), in this one process.
"""

from __future__ import annotations

import argparse
import base64
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hapair.config.nginx.load import load
from hapair.config.nginx.model.http import Settings
from hapair.proxy.http.exchange import Exchange
from hapair.proxy.http.phases import location_steps
from hapair.proxy.http.request import Request
from hapair.proxy.http.zones import LimitZones, zone_specs
from hapair.proxy.shm import SharedZones

CONFIG = """
http {
    limit_req_zone $binary_remote_addr zone=req:1m rate=100000r/s;
    limit_conn_zone $binary_remote_addr zone=conn:1m;
    server {
        listen 127.0.0.1:8080;
        location /realip/ {
            set_real_ip_from 127.0.0.0/8;
            real_ip_header X-Forwarded-For;
            real_ip_recursive on;
        }
        location /rules/ { deny 10.0.0.0/8; allow 192.168.0.0/16; allow 127.0.0.1; deny all; }
        location /plain/ { auth_basic "b"; auth_basic_user_file htpasswd; }
        location /apr1/ { auth_basic "b"; auth_basic_user_file htpasswd; }
        location /limit_req/ { limit_req zone=req burst=100000000 nodelay; }
        location /limit_conn/ { limit_conn conn 10; }
    }
}
"""
HTPASSWD = b"# users\nplain:{PLAIN}secret\napr:$apr1$abcdefgh$h9FWgUz3n9YxylKLlR5SQ/\n"


class Client:
    """What an exchange reads of its connection."""

    remote_addr = "127.0.0.1"
    remote_port = 40000
    binary_remote_addr = "\x7f\x00\x00\x01"
    number = 1


def exchange(headers: list[tuple[bytes, bytes]]) -> Exchange:
    request = Request(
        b"GET", b"/", "1.1", [(b"Host", b"x"), *headers], keep_alive=True, head_length=0, started=0
    )
    ex = Exchange.__new__(Exchange)
    for name, value in {
        "client": Client(),
        "request": request,
        "remote_addr": Client.remote_addr,
        "remote_port": Client.remote_port,
        "binary_remote_addr": Client.binary_remote_addr,
        "realip": False,
        "limit_req_status": 0,
        "limit_conn_status": 0,
        "cleanups": None,
        "server_name": "",
    }.items():
        setattr(ex, name, value)
    return ex


def measure(step: Callable[[Exchange], int], make: Callable[[], Exchange], count: int) -> float:
    """Microseconds per request, the making of the request left out."""
    requests = [make() for _ in range(count)]
    started = time.perf_counter()
    for ex in requests:
        step(ex)
        if ex.cleanups:
            for cleanup in ex.cleanups:
                cleanup()
    return (time.perf_counter() - started) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    count = parser.parse_args().requests
    with tempfile.TemporaryDirectory() as directory:
        conf = Path(directory) / "nginx.conf"
        conf.write_text(CONFIG)
        (Path(directory) / "htpasswd").write_bytes(HTPASSWD)
        result = load(str(conf), f"{directory}/")
        assert result.config is not None and result.config.http is not None, result.error
        http = result.config.http
        shared = SharedZones().renew(zone_specs(http))
        zones = LimitZones(shared, http.zones)
        locations: dict[str, Settings] = {
            location.path.strip("/"): location.settings for location in http.servers[0].locations
        }
        rows: list[tuple[str, Callable[[Exchange], Any], list[tuple[bytes, bytes]], int]] = [
            ("realip, 3 addresses", "realip", [(b"X-Forwarded-For", b"1.2.3.4, 10.0.0.1, 127.0.0.2")], count),
            ("allow/deny, 4 rules", "rules", [], count),
            (
                "auth_basic {PLAIN}",
                "plain",
                [(b"Authorization", b"Basic " + base64.b64encode(b"plain:secret"))],
                count,
            ),
            (
                "auth_basic $apr1$",
                "apr1",
                [(b"Authorization", b"Basic " + base64.b64encode(b"apr:secret"))],
                count // 20,
            ),
            ("limit_req", "limit_req", [], count),
            ("limit_conn", "limit_conn", [], count),
        ]  # type: ignore[list-item]
        print(f"{'step':<24}{'us/request':>12}")
        for label, name, headers, runs in rows:
            steps = location_steps(locations[str(name)], proxied=True, zones=zones)
            step = steps[0]
            print(f"{label:<24}{measure(step, lambda headers=headers: exchange(headers), runs):>12.2f}")
        zone = shared.get("req")
        started = time.perf_counter()
        for _ in range(count):
            zone.lock()
            zone.unlock()
        print(f"{'zone lock + unlock':<24}{(time.perf_counter() - started) / count * 1e6:>12.2f}")
        shared.close()


if __name__ == "__main__":
    main()
