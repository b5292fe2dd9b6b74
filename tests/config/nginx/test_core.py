"""The main context: `worker_processes`, `pid`, `error_log`, `events`, `worker_connections`,
`load_module`, and nginx's defaults for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.model.logging import ErrorLevel, ErrorLog
from hapair.config.nginx.model.place import Place

from .conftest import Read, config, error


def test_defaults_are_nginx_defaults(read: Read) -> None:
    model = config(read("events {}\n"))
    assert (model.worker_processes, model.worker_processes_auto, model.worker_connections, model.pid) == (
        1,
        False,
        512,
        "/run/nginx.pid",
    )
    assert model.error_logs == (ErrorLog("stderr", ErrorLevel.ERROR, (), None),)


def test_worker_processes_takes_a_number(read: Read) -> None:
    assert config(read("worker_processes 8;\nevents {}\n")).worker_processes == 8


def test_worker_processes_auto_is_the_number_of_cpus(read: Read) -> None:
    model = config(read("worker_processes auto;\nevents {}\n"))
    assert (model.worker_processes, model.worker_processes_auto) == (4, True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("worker_processes many;", '"worker_processes" directive invalid value'),
        ("worker_processes Auto;", '"worker_processes" directive invalid value'),
        ("worker_processes 1;\nworker_processes 2;", '"worker_processes" directive is duplicate'),
        ("pid a.pid;\npid b.pid;", '"pid" directive is duplicate'),
        ("events { worker_connections lots; }", 'invalid number "lots"'),
        (
            "events { worker_connections 1; worker_connections 2; }",
            '"worker_connections" directive is duplicate',
        ),
        ("events {}\nevents {}", '"events" directive is duplicate'),
        ("events { use epoll; }", 'hapair does not support the "use" directive'),
    ],
)
def test_main_context_errors(read: Read, text: str, message: str) -> None:
    assert error(read(text)).startswith(f"nginx: [emerg] {message} in ")


def test_main_directives_record_where_they_are(read: Read, conf_dir: Path) -> None:
    model = config(read("worker_processes 2;\n\nevents {\nworker_connections 64;\n}\n"))
    assert model.defined == {
        "worker_processes": Place(f"{conf_dir}/nginx.conf", 1),
        "events": Place(f"{conf_dir}/nginx.conf", 3),
        "worker_connections": Place(f"{conf_dir}/nginx.conf", 4),
    }


def test_pid_is_relative_to_the_prefix(read: Read, conf_dir: Path) -> None:
    assert config(read("pid run/lb.pid;\nevents {}\n")).pid == f"{conf_dir}/run/lb.pid"


def test_worker_connections_is_read_in_events(read: Read) -> None:
    assert config(read("events { worker_connections 1024; }\n")).worker_connections == 1024


def test_error_log_takes_a_file_relative_to_the_prefix_and_a_level(read: Read, conf_dir: Path) -> None:
    model = config(read("error_log logs/error.log warn;\nevents {}\n"))
    assert model.error_logs == (
        ErrorLog(f"{conf_dir}/logs/error.log", ErrorLevel.WARN, (), Place(f"{conf_dir}/nginx.conf", 1)),
    )


def test_error_log_may_be_stderr_and_repeated(read: Read) -> None:
    model = config(read("error_log stderr;\nerror_log logs/e.log info;\nevents {}\n"))
    assert [(log.target.rsplit("/", 1)[-1], log.level) for log in model.error_logs] == [
        ("stderr", ErrorLevel.ERROR),
        ("e.log", ErrorLevel.INFO),
    ]


def test_error_log_debug_takes_every_debug_kind(read: Read) -> None:
    (log,) = config(read("error_log logs/e.log debug;\nevents {}\n")).error_logs
    assert (log.level, "debug_http" in log.debug) == (ErrorLevel.DEBUG, True)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ("loud", 'invalid log level "loud"'),
        ("warn error", 'duplicate log level "error"'),
        ("debug_http warn", 'duplicate log level "warn"'),
        ("warn debug_http", 'invalid log level "debug_http"'),
    ],
)
def test_error_log_level_errors(read: Read, levels: str, message: str) -> None:
    assert error(read(f"error_log logs/e.log {levels};\nevents {{}}\n")).startswith(
        f"nginx: [emerg] {message} in "
    )


def test_error_log_to_syslog_is_not_supported(read: Read) -> None:
    assert 'hapair does not support "syslog:" logging in the "error_log" directive' in error(
        read("error_log syslog:server=127.0.0.1;\nevents {}\n")
    )


def test_load_module_names_the_stream_module(read: Read, conf_dir: Path) -> None:
    (conf_dir / "modules").mkdir()
    (conf_dir / "modules" / "ngx_stream_module.so").write_bytes(b"")
    model = config(read("load_module modules/ngx_stream_module.so;\nevents {}\n"))
    assert model.defined["load_module"] == Place(f"{conf_dir}/nginx.conf", 1)


def test_load_module_of_a_missing_file_fails_as_dlopen(read: Read, conf_dir: Path) -> None:
    path = f"{conf_dir}/modules/x.so"
    assert error(read("load_module modules/x.so;\n")) == (
        f'nginx: [emerg] dlopen() "{path}" failed ({path}: cannot open shared object file: '
        f"No such file or directory) in {conf_dir}/nginx.conf:1"
    )


def test_load_module_of_another_module_is_not_supported(read: Read, conf_dir: Path) -> None:
    (conf_dir / "geoip.so").write_bytes(b"")
    assert f'hapair does not support the module "{conf_dir}/geoip.so"' in error(
        read("load_module geoip.so;\n")
    )


def test_load_module_after_a_block_is_too_late(read: Read, conf_dir: Path) -> None:
    (conf_dir / "ngx_stream_module.so").write_bytes(b"")
    assert error(read("events {}\nload_module ngx_stream_module.so;\n")).startswith(
        'nginx: [emerg] "load_module" directive is specified too late in '
    )


def test_load_module_twice_is_already_loaded(read: Read, conf_dir: Path) -> None:
    (conf_dir / "ngx_stream_module.so").write_bytes(b"")
    text = "load_module ngx_stream_module.so;\nload_module ngx_stream_module.so;\n"
    assert error(read(text)).startswith('nginx: [emerg] module "ngx_stream_module" is already loaded in ')
