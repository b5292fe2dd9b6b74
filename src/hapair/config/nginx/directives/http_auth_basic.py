"""The auth_basic module: `auth_basic`, `auth_basic_user_file` (ngx_http_auth_basic_module.c)."""

from __future__ import annotations

from ..access_fields import AUTH_BASIC, AUTH_BASIC_USER_FILE, UserFile
from ..context import Block, Directive, Handler, Reading
from ..variables import VariableUses, compile_template


def _uses(block: Block) -> VariableUses:
    assert block.http is not None
    return block.http.variables


def auth_basic(block: Block, directive: Directive, reading: Reading) -> None:
    """The realm, with variables (ngx_http_set_complex_value_slot); `off` turns the check off."""
    level = block.level()
    if level.here(AUTH_BASIC) is not None:
        raise directive.invalid("is duplicate")
    realm = compile_template(directive.args[0], _uses(block), directive.place, directive.place)
    level.set(AUTH_BASIC, realm, directive.place)


def auth_basic_user_file(block: Block, directive: Directive, reading: Reading) -> None:
    """A path relative to the configuration prefix, with variables: made absolute now unless it starts
    with a variable, in which case what it gives at run time is (ngx_http_compile_complex_value)."""
    level = block.level()
    if level.here(AUTH_BASIC_USER_FILE) is not None:
        raise directive.invalid("is duplicate")
    text = directive.args[0]
    prefix: str | None = block.main.paths.conf_prefix
    if not text.startswith("$"):
        text, prefix = block.main.paths.from_conf_prefix(text), None
    template = compile_template(text, _uses(block), directive.place, directive.place)
    level.set(AUTH_BASIC_USER_FILE, UserFile(template, prefix), directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_auth_basic_module", "auth_basic"): auth_basic,
    ("ngx_http_auth_basic_module", "auth_basic_user_file"): auth_basic_user_file,
}
