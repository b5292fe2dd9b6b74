"""`log_format`, `access_log` and `error_log` in http and stream."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hapair.config.nginx.model.logging import ErrorLevel, LogEscape
from hapair.config.nginx.model.templates import Literal, Variable
from hapair.config.nginx.syslog import FACILITIES, SEVERITIES

from .conftest import LabSystem, Read, config, error, http, location, server, stream


def http_conf(body: str) -> str:
    return f"events {{}}\nhttp {{\n{body}\n}}\n"


def test_log_format_joins_its_strings(read: Read) -> None:
    model = http(read(http_conf("log_format main '$remote_addr ' \"[$time_local]\";")))
    (_, main) = model.log_formats
    assert (main.name, main.escape, main.template.parts) == (
        "main",
        LogEscape.DEFAULT,
        (Variable("remote_addr"), Literal(" ["), Variable("time_local"), Literal("]")),
    )


def test_log_format_takes_an_escape_mode(read: Read) -> None:
    (_, json) = http(read(http_conf('log_format j escape=json \'{"a":"$uri"}\';'))).log_formats
    assert json.escape is LogEscape.JSON


def test_combined_is_always_there_first(read: Read) -> None:
    (combined,) = http(read(http_conf(""))).log_formats
    assert (combined.name, combined.place, combined.template.variables[0]) == (
        "combined",
        None,
        "remote_addr",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("log_format combined 'x';", 'duplicate "log_format" name "combined"'),
        ("log_format a escape=xml 'x';", 'unknown log format escaping "xml"'),
        ("log_format a 'x $';", 'invalid parameter "$"'),
        ("log_format a '$ x';", 'invalid parameter "$ x"'),
        ("log_format a '${uri';", 'the closing bracket in "uri" variable is missing'),
        ("access_log logs/a.log main;", 'unknown log format "main"'),
        ("access_log off logs/a.log;", 'invalid parameter "logs/a.log"'),
        ("access_log logs/a.log combined flush=1s;", 'no buffer is defined for access_log "logs/a.log"'),
        ("access_log logs/a.log combined buffer=0;", 'invalid buffer size "0"'),
        ("access_log logs/a.log combined bogus=1;", 'invalid parameter "bogus=1"'),
        ("access_log logs/a.log combined gzip;", 'hapair does not support "gzip" compression'),
        ("access_log logs/$host.log;", "hapair does not support variables in the log file name"),
        ("access_log syslog:server=127.0.0.1 combined buffer=4k;", "logs to syslog cannot be buffered"),
        (
            "access_log logs/a.log combined buffer=8k; access_log logs/a.log combined buffer=16k;",
            'access_log "logs/a.log" already defined with conflicting parameters',
        ),
    ],
)
def test_log_errors(read: Read, body: str, message: str) -> None:
    assert error(read(http_conf(body))).startswith(f"nginx: [emerg] {message}")


def test_a_server_without_access_log_writes_nginx_default_log_in_combined(read: Read) -> None:
    (log,) = server(read(http_conf("server { listen 80; }"))).settings.access_logs
    assert (log.path, log.format.name, log.place) == ("/var/log/nginx/access.log", "combined", None)


def test_access_log_takes_a_path_from_the_prefix_a_format_and_parameters(read: Read, conf_dir: Path) -> None:
    body = (
        "log_format main '$uri'; "
        "server { listen 80; access_log logs/a.log MAIN buffer=32k flush=5s if=$status; }"
    )
    (log,) = server(read(http_conf(body))).settings.access_logs
    assert (
        log.path,
        log.format.name,
        log.buffer,
        log.flush,
        log.condition.source if log.condition else None,
    ) == (
        f"{conf_dir}/logs/a.log",
        "main",
        32 * 1024,
        5000,
        "$status",
    )


def test_access_log_off_logs_nothing_even_with_paths_beside_it(read: Read) -> None:
    body = "server { listen 80; access_log logs/a.log; access_log off; }"
    assert server(read(http_conf(body))).settings.access_logs == ()


def test_access_logs_are_inherited_as_a_whole(read: Read, conf_dir: Path) -> None:
    body = "access_log logs/a.log; access_log logs/b.log; server { listen 80; location / { } }"
    logs = location(read(http_conf(body))).settings.access_logs
    assert [log.path for log in logs] == [f"{conf_dir}/logs/a.log", f"{conf_dir}/logs/b.log"]


def test_error_log_in_a_location_replaces_the_main_ones(read: Read, conf_dir: Path) -> None:
    body = "server { listen 80; location / { error_log logs/e.log warn; } }"
    (log,) = location(read(http_conf(body))).settings.error_logs
    assert (log.target, log.level) == (f"{conf_dir}/logs/e.log", ErrorLevel.WARN)


def test_no_error_log_in_http_means_the_main_context_ones(read: Read) -> None:
    assert server(read(http_conf("server { listen 80; }"))).settings.error_logs == ()


def test_log_files_are_opened_once_each_after_reading(read: Read, conf_dir: Path) -> None:
    system = LabSystem()
    read(
        http_conf(
            "access_log logs/a.log; server { listen 80; access_log logs/a.log; error_log logs/e.log; }"
        ),
        system=system,
    )
    assert system.opened == [f"{conf_dir}/logs/a.log", f"{conf_dir}/logs/e.log"]


def test_a_log_file_that_cannot_be_opened_fails_after_syntax_is_ok(read: Read, conf_dir: Path) -> None:
    path = f"{conf_dir}/logs/a.log"
    result = read(
        http_conf("access_log logs/a.log; server { listen 80; }"), system=LabSystem(unwritable={path})
    )
    assert (result.syntax_ok, error(result)) == (
        True,
        f'nginx: [emerg] open() "{path}" failed (13: Permission denied)',
    )


def test_stream_log_format_and_access_log(read: Read, conf_dir: Path) -> None:
    text = (
        "events {}\nstream { log_format tcp '$remote_addr $bytes_sent';\n"
        "server { listen 9000; proxy_pass 192.0.2.1:9000; access_log logs/tcp.log tcp; } }\n"
    )
    (log,) = stream(read(text)).servers[0].access_logs
    assert (log.path, log.format.name) == (f"{conf_dir}/logs/tcp.log", "tcp")


def test_stream_has_no_default_access_log(read: Read) -> None:
    text = "events {}\nstream { server { listen 9000; proxy_pass 192.0.2.1:9000; } }\n"
    assert stream(read(text)).servers[0].access_logs == ()


def test_stream_access_log_needs_a_format(read: Read) -> None:
    text = "events {}\nstream { server { listen 9000; proxy_pass 192.0.2.1:9; access_log logs/tcp.log; } }\n"
    assert error(read(text)).startswith("nginx: [emerg] log format is not specified in ")


def test_stream_error_log_is_read(read: Read) -> None:
    text = (
        "events {}\nstream { error_log logs/s.log notice; server { listen 9000; proxy_pass 192.0.2.1:9; } }\n"
    )
    (log,) = stream(read(text)).servers[0].error_logs
    assert log.level is ErrorLevel.NOTICE


def test_a_main_error_log_is_a_file_opened_after_reading(read: Read, conf_dir: Path) -> None:
    system = LabSystem()
    config(read("error_log logs/e.log;\nevents {}\n", system=system))
    assert system.opened == [f"{conf_dir}/logs/e.log"]


syslog_parameters = st.tuples(
    st.sampled_from(FACILITIES),
    st.sampled_from(SEVERITIES),
    st.text(alphabet="abcXYZ019_", min_size=1, max_size=32),
    st.booleans(),
    st.permutations(range(4)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(syslog_parameters)
def test_a_syslog_target_reads_its_parameters_in_any_order(read: Read, drawn: tuple) -> None:
    facility, severity, tag, nohostname, order = drawn
    parts = [
        "server=127.0.0.1:5140",
        f"facility={facility}",
        f"severity={severity}",
        f"tag={tag}",
    ]
    parts = [parts[i] for i in order] + (["nohostname"] if nohostname else [])
    (log, _) = config(read(f"events {{}}\nerror_log syslog:{','.join(parts)} warn;\n")).error_logs
    assert log.syslog is not None
    assert (log.syslog.server.port, log.syslog.facility, log.syslog.severity, log.syslog.tag) == (
        5140,
        FACILITIES.index(facility),
        SEVERITIES.index(severity),
        tag,
    )
    assert log.syslog.hostname is not nohostname
    assert log.level is ErrorLevel.WARN


def test_a_syslog_error_log_alone_keeps_the_default_log_beside_it(read: Read) -> None:
    logs = config(read("events {}\nerror_log syslog:server=127.0.0.1 info;\n")).error_logs
    assert [(log.target, log.level, log.syslog is None) for log in logs] == [
        ("syslog:server=127.0.0.1", ErrorLevel.INFO, False),
        ("stderr", ErrorLevel.ERROR, True),
    ]
