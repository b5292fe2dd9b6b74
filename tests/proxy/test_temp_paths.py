"""The temporary directories of request bodies and buffered responses (and of the FastCGI, uwsgi and SCGI
modules, which nginx makes too), made as nginx's master makes them (ngx_create_paths) before the workers
take their user: mode 0700, given to that user."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from hapair.config.nginx.load import load
from hapair.config.nginx.model.config import NginxConfig
from hapair.proxy.cycle import create_temp_paths

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")


def _config(directory: Path, text: str) -> NginxConfig:
    path = directory / "nginx.conf"
    path.write_text(text)
    result = load(str(path), f"{directory}/")
    assert result.error is None and result.config is not None, result.error
    return result.config


def test_each_level_s_temporary_directories_are_made_and_given_to_the_workers(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    (tmp_path / "existing").mkdir(mode=0o500)
    config = _config(
        tmp_path,
        f"""
        client_body_temp_path {tmp_path}/body;
        proxy_temp_path {tmp_path}/proxy;
        fastcgi_temp_path {tmp_path}/fastcgi;
        uwsgi_temp_path {tmp_path}/uwsgi;
        scgi_temp_path {tmp_path}/scgi;
        server {{
            listen 127.0.0.1:9;
            location /a {{ proxy_temp_path {tmp_path}/deeper/a 1 2; }}
            location /b {{ proxy_temp_path {tmp_path}/existing; }}
        }}
        """,
    )
    create_temp_paths(config, nobody)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi", "deeper/a", "existing"):
        info = (tmp_path / name).stat()
        assert (info.st_uid, info.st_mode & 0o700) == (nobody, 0o700), name
    assert (tmp_path / "body").stat().st_mode & 0o777 == 0o700


def test_a_directory_that_cannot_be_made_is_nginx_s_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    config = _config(tmp_path, f"proxy_temp_path {tmp_path}/file/temp; server {{ listen 127.0.0.1:9; }}")
    with pytest.raises(OSError) as raised:
        create_temp_paths(config, None)
    assert raised.value.strerror == f'mkdir() "{tmp_path}/file/temp" failed (20: Not a directory)'
