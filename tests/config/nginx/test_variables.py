"""Variables in directive values: how nginx reads `$name`, `${name}` and `$1`, and its check, once a
block is read, that every variable exists; hapair refuses the ones its data plane does not provide."""

from __future__ import annotations

from pathlib import Path

import pytest

from hapair.config.nginx.errors import ConfigError
from hapair.config.nginx.model.place import Place
from hapair.config.nginx.model.templates import Capture, Literal, Variable
from hapair.config.nginx.variables import HTTP_CATALOG, STREAM_CATALOG, VariableUses, compile_template

from .conftest import Read, error

HERE = Place("t.conf", 1)
END = Place("t.conf", 9)


def compiled(source: str) -> tuple[object, ...]:
    return compile_template(source, VariableUses(HTTP_CATALOG), HERE, END).parts


def template_error(source: str) -> tuple[str, Place | None]:
    with pytest.raises(ConfigError) as caught:
        compile_template(source, VariableUses(HTTP_CATALOG), HERE, END)
    return caught.value.message.text, caught.value.message.place


def test_a_template_is_text_variables_and_captures() -> None:
    assert compiled("a$host${remote_port}b$2") == (
        Literal("a"),
        Variable("host"),
        Variable("remote_port"),
        Literal("b"),
        Capture(2),
    )


def test_variable_names_are_lower_case() -> None:
    assert compiled("$HTTP_X_Real_IP") == (Variable("http_x_real_ip"),)


def test_a_name_ends_at_the_first_character_that_is_not_a_letter_digit_or_underscore() -> None:
    assert compiled("$host-$uri.") == (Variable("host"), Literal("-"), Variable("uri"), Literal("."))


@pytest.mark.parametrize(
    ("source", "text"),
    [("$", "invalid variable name"), ("a$-", "invalid variable name"), ("${", "invalid variable name"),
     ("${}", "invalid variable name"), ("${host", 'the closing bracket in "host" variable is missing')],
)  # fmt: skip
def test_malformed_variables_are_reported_where_the_caller_says(source: str, text: str) -> None:
    assert template_error(source) == (text, END)


def test_unknown_variables_are_nginx_error_without_place_but_with_origin() -> None:
    uses = VariableUses(HTTP_CATALOG)
    compile_template("$host$nosuch", uses, HERE, END)
    with pytest.raises(ConfigError) as caught:
        uses.check()
    assert (caught.value.message.render(), caught.value.origin) == (
        'nginx: [emerg] unknown "nosuch" variable',
        HERE,
    )


def test_prefix_variables_are_known() -> None:
    uses = VariableUses(HTTP_CATALOG)
    compile_template("$http_x_forwarded_for $cookie_session $arg_id $upstream_http_server", uses, HERE, END)
    uses.check()


def test_a_variable_nginx_has_and_hapair_does_not_is_refused_where_it_is_used() -> None:
    uses = VariableUses(HTTP_CATALOG)
    compile_template("$ssl_session_id", uses, HERE, END)
    with pytest.raises(ConfigError) as caught:
        uses.check()
    assert (
        caught.value.message.render()
        == 'nginx: [emerg] hapair does not support the "$ssl_session_id" variable in t.conf:1'
    )


def test_stream_variables_are_not_http_variables() -> None:
    uses = VariableUses(STREAM_CATALOG)
    compile_template("$host", uses, HERE, END)
    with pytest.raises(ConfigError, match='unknown "host" variable'):
        uses.check()


def test_the_first_unknown_variable_in_use_order_is_reported() -> None:
    uses = VariableUses(HTTP_CATALOG)
    compile_template("$zzz $aaa", uses, HERE, END)
    with pytest.raises(ConfigError, match='unknown "zzz" variable'):
        uses.check()


def test_an_unknown_variable_in_a_header_fails_the_load(read: Read) -> None:
    result = read("events {}\nhttp { server { listen 80; proxy_set_header A $nope; } }\n")
    assert error(result) == 'nginx: [emerg] unknown "nope" variable'


def test_a_malformed_header_value_is_reported_at_the_end_of_the_http_block(
    read: Read, conf_dir: Path
) -> None:
    result = read("events {}\nhttp {\nserver { listen 80; proxy_set_header A $; }\n\n}\n")
    assert error(result) == f"nginx: [emerg] invalid variable name in {conf_dir}/nginx.conf:5"
