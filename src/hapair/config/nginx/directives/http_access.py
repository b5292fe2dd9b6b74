"""The access module's `allow` and `deny` (ngx_http_access_module.c) and the core's `satisfy`, with
nginx's checks and messages."""

from __future__ import annotations

from ..access_fields import ACCESS_RULES, SATISFY
from ..cidr import UNIX, parse_cidr
from ..context import Block, Directive, Handler, Reading
from ..model.access import AccessRule, Cidr, Satisfy

ALL = Cidr(0, 0, 0)  # `all`: a rule in the list of each family


def access_rule(block: Block, directive: Directive, reading: Reading) -> None:
    """`allow` or `deny`: an address, a block, `unix:` or `all`, added to the level's rules in order."""
    text = directive.args[0]
    if text == "all":
        cidr = ALL
    elif text == "unix:":
        cidr = UNIX
    else:
        parsed = parse_cidr(text)
        if parsed is None:
            raise directive.error(f'invalid parameter "{text}"')
        if parsed.meaningless:
            reading.warn(f"low address bits of {text} are meaningless", directive.place)
        cidr = parsed.cidr
    level = block.level()
    here = level.here(ACCESS_RULES)
    before = here.value if here is not None else ()
    rule = AccessRule(deny=directive.name == "deny", cidr=cidr)
    level.set(ACCESS_RULES, (*before, rule), here.place if here is not None else directive.place)


def satisfy(block: Block, directive: Directive, reading: Reading) -> None:
    """`satisfy all|any`, in any case (ngx_conf_set_enum_slot)."""
    level = block.level()
    if level.here(SATISFY) is not None:
        raise directive.invalid("is duplicate")
    for value in Satisfy:
        if value.value == directive.args[0].lower():
            level.set(SATISFY, value, directive.place)
            return
    raise directive.error(f'invalid value "{directive.args[0]}"')


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_access_module", "allow"): access_rule,
    ("ngx_http_access_module", "deny"): access_rule,
    ("ngx_http_core_module", "satisfy"): satisfy,
}
