"""Files, blocks and directives as ngx_conf_parse and ngx_conf_handler take them: nginx's checks before a
directive is handled, the directives hapair does not implement, and `include`."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.load import load

from .conftest import Read, config, error, http


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo;", 'unknown directive "foo"'),
        ("http { server_tokens_x on; }", 'unknown directive "server_tokens_x"'),
        ("proxy_pass http://x;", '"proxy_pass" directive is not allowed here'),
        ("http { listen 80; }", '"listen" directive is not allowed here'),
        ("events { server {} }", '"server" directive is not allowed here'),
        ("http { server { listen; } }", 'invalid number of arguments in "listen" directive'),
        ("worker_processes 1 2;", 'invalid number of arguments in "worker_processes" directive'),
        ("http { proxy_ssl_verify; }", 'invalid number of arguments in "proxy_ssl_verify" directive'),
        ("http { server { location {} } }", 'invalid number of arguments in "location" directive'),
        ("http;", 'directive "http" has no opening "{"'),
        ("worker_processes 1 {", 'directive "worker_processes" is not terminated by ";"'),
        ("}", 'unexpected "}"'),
        ("http {", 'unexpected end of file, expecting "}"'),
    ],
)
def test_nginx_checks_before_a_directive_is_handled(read: Read, text: str, message: str) -> None:
    assert error(read(text)).startswith(f"nginx: [emerg] {message} in ")


def test_errors_name_the_file_and_the_line_of_the_terminating_character(read: Read, conf_dir: Path) -> None:
    result = read("events {}\nhttp {\n  server {\n    foo\n      bar;\n  }\n}\n")
    assert error(result) == f'nginx: [emerg] unknown directive "foo" in {conf_dir}/nginx.conf:5'


@pytest.mark.parametrize(
    ("text", "directive"),
    [
        ("http { gunzip on; }", "gunzip"),
        ("http { server { location / { fastcgi_pass 127.0.0.1:9; } } }", "fastcgi_pass"),
        ("http { server { location / { fastcgi_pass 127.0.0.1:9000; } } }", "fastcgi_pass"),
        ("timer_resolution 100ms;", "timer_resolution"),
        ("http { geo $a $b { } }", "geo"),
        ("stream { server { ssl_session_ticket_key a.key; } }", "ssl_session_ticket_key"),
    ],
)
def test_a_directive_nginx_knows_and_hapair_does_not_implement_is_an_error(
    read: Read, conf_dir: Path, text: str, directive: str
) -> None:
    result = read(f"events {{}}\n{text}\n")
    assert error(result) == (
        f'nginx: [emerg] hapair does not support the "{directive}" directive in {conf_dir}/nginx.conf:2'
    )


def test_an_unsupported_directive_in_the_wrong_place_gets_nginx_answer_first(read: Read) -> None:
    assert error(read("events {}\ngzip on;")).startswith(
        'nginx: [emerg] "gzip" directive is not allowed here'
    )


def test_a_long_message_about_a_directive_is_cut_at_1024_bytes_as_nginx_cuts_it(
    read: Read, conf_dir: Path
) -> None:
    name = "x" * 2000
    message = f'unknown directive "{name}"'[:1024]
    assert error(read(f"{name};")) == f"nginx: [emerg] {message} in {conf_dir}/nginx.conf:1"


def test_include_reads_a_file_relative_to_the_configuration_directory(read: Read) -> None:
    result = read(
        "events {}\nhttp { include conf.d/lb.conf; }\n", files={"conf.d/lb.conf": "server { listen 81; }"}
    )
    assert [listen.address.text for listen in http(result).servers[0].listens] == ["0.0.0.0:81"]


def test_include_with_a_pattern_reads_the_matches_in_sorted_order(read: Read) -> None:
    files = {
        "conf.d/b.conf": "server { listen 82; }",
        "conf.d/a.conf": "server { listen 81; }",
        "conf.d/c.txt": "server { listen 83; }",
    }
    result = read("events {}\nhttp { include conf.d/*.conf; }\n", files=files)
    assert [s.listens[0].address.text for s in http(result).servers] == ["0.0.0.0:81", "0.0.0.0:82"]


def test_include_with_a_pattern_that_matches_nothing_is_accepted(read: Read) -> None:
    assert config(read("events {}\nhttp { include none.d/*.conf; }\n")).http is not None


def test_include_of_a_missing_file_is_an_error_at_the_include(read: Read, conf_dir: Path) -> None:
    assert error(read("events {}\n\ninclude missing.conf;\n")) == (
        f'nginx: [emerg] open() "{conf_dir}/missing.conf" failed (2: No such file or directory) '
        f"in {conf_dir}/nginx.conf:3"
    )


def test_an_error_in_an_included_file_names_that_file(read: Read, conf_dir: Path) -> None:
    result = read("events {}\nhttp { include lb.conf; }\n", files={"lb.conf": "\nserver { bogus; }\n"})
    assert error(result) == f'nginx: [emerg] unknown directive "bogus" in {conf_dir}/lb.conf:2'


def test_a_block_cannot_end_in_an_included_file(read: Read, conf_dir: Path) -> None:
    result = read("events {}\nhttp { include lb.conf; }\n", files={"lb.conf": "server { }\n}\n"})
    assert error(result) == f'nginx: [emerg] unexpected "}}" in {conf_dir}/lb.conf:2'


def test_including_a_directory_fails_as_nginx_reading_it(read: Read, conf_dir: Path) -> None:
    (conf_dir / "conf.d").mkdir()
    assert error(read("include conf.d;")) == (
        f'nginx: [crit] pread() "{conf_dir}/conf.d" failed (21: Is a directory)'
    )


def test_every_file_read_is_listed(read: Read, conf_dir: Path) -> None:
    result = read("events {}\nhttp { include lb.conf; }\n", files={"lb.conf": ""})
    assert config(result).files == (f"{conf_dir}/nginx.conf", f"{conf_dir}/lb.conf")


def test_a_file_including_itself_stops_at_hapair_depth_limit(read: Read) -> None:
    assert "hapair does not support nesting blocks and includes deeper than 100" in error(
        read("include nginx.conf;")
    )


def test_a_missing_configuration_file_is_an_error_without_place(conf_dir: Path) -> None:
    result = load("absent.conf", f"{conf_dir}/")
    assert (
        error(result)
        == f'nginx: [emerg] open() "{conf_dir}/absent.conf" failed (2: No such file or directory)'
    )
