"""`hapair proxy -t` beside the real `nginx -t` on `syslog:` targets of `error_log` and `access_log`, in
the main, http, server, location and stream contexts: the parameters nginx takes and its messages for
the ones it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_oracle import HEAD, MISSING, hapair_t, nginx_t

pytestmark = [pytest.mark.oracle, pytest.mark.skipif(MISSING is not None, reason=MISSING or "")]

SERVER = "server=127.0.0.1:39514"


def _access(target: str, *rest: str) -> str:
    return f"http {{ server {{ listen 38081; access_log {target} {' '.join(rest)}; }} }}"


CASES = [
    f"error_log syslog:{SERVER};",
    f"error_log syslog:{SERVER},facility=local0,severity=warn,tag=edge_1,nohostname warn;",
    "error_log syslog:server=localhost;",
    "error_log syslog:server=unix:/dev/log;",
    "error_log syslog:server=[::1]:514;",
    "error_log syslog:facility=user;",
    "error_log syslog:;",
    f"error_log syslog:{SERVER},{SERVER};",
    f"error_log syslog:{SERVER},facility=nosuch;",
    f"error_log syslog:{SERVER},facility=user,facility=mail;",
    f"error_log syslog:{SERVER},severity=loud;",
    f"error_log syslog:{SERVER},severity=info,severity=info;",
    f"error_log syslog:{SERVER},tag=a-b;",
    f"error_log syslog:{SERVER},tag={'t' * 32};",
    f"error_log syslog:{SERVER},tag={'t' * 33};",
    f"error_log syslog:{SERVER},tag=a,tag=b;",
    f"error_log syslog:{SERVER},colour=blue;",
    f"error_log syslog:{SERVER},;",
    "error_log syslog:server=127.0.0.1:99999;",
    f"http {{ error_log syslog:{SERVER} info; server {{ listen 38081; "
    f"location / {{ error_log syslog:{SERVER},tag=loc; }} }} }}",
    _access(f"syslog:{SERVER}"),
    _access(f"syslog:{SERVER},severity=notice", "combined", "if=$status"),
    _access(f"syslog:{SERVER}", "combined", "buffer=32k"),
    _access(f"syslog:{SERVER}", "combined", "flush=1s"),
    _access(f"syslog:{SERVER}", "nosuch"),
    _access("syslog:tag=x"),
    f"stream {{ server {{ listen 38082; proxy_pass 127.0.0.1:9; error_log syslog:{SERVER}; "
    f"access_log syslog:{SERVER},tag=tcp basic; }} log_format basic '$remote_addr'; }}",
    f"stream {{ log_format basic '$remote_addr'; server {{ listen 38082; proxy_pass 127.0.0.1:9; "
    f"access_log syslog:{SERVER} basic buffer=4k; }} }}",
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
