"""The charset module's `charset`, `source_charset`, `override_charset`, `charset_types`
(ngx_http_charset_filter_module.c). hapair adds `; charset=...` to a response's type as nginx does but
recodes nothing: `charset_map` is refused, so a configuration that would need a recoding is refused as
nginx refuses one without its map (`no "charset_map" between the charsets ...`)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields_content import (
    CHARSET,
    CHARSET_NAMES,
    CHARSET_TYPES,
    OVERRIDE_CHARSET,
    SOURCE_CHARSET,
    CharsetSetting,
)
from ..settings import Level
from . import setters


def _http_level(block: Block) -> Level:
    assert block.http is not None
    return block.http.level


def charset(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_http_set_charset_slot: `off` (for `charset` only), `$variable`, or a name, which joins the
    http block's list of names (its first spelling is the one used)."""
    slot = CHARSET if directive.name == "charset" else SOURCE_CHARSET
    level = block.level()
    if level.here(slot) is not None:
        raise directive.invalid("is duplicate")
    value = directive.args[0]
    if slot is CHARSET and value == "off":
        level.set(slot, CharsetSetting(None, None), directive.place)
        return
    if value.startswith("$"):
        name = value[1:]
        if not name:
            raise directive.error('invalid variable name "$"')
        assert block.http is not None
        block.http.variables.use(name, directive.place)
        level.set(slot, CharsetSetting(None, name.lower()), directive.place)
        return
    http = _http_level(block)
    found = http.here(CHARSET_NAMES)
    names = found.value if found is not None else []
    if found is None:
        http.set(CHARSET_NAMES, names, directive.place)
    if all(known.lower() != value.lower() for known in names):
        names.append(value)
    level.set(slot, CharsetSetting(value, None), directive.place)


def charset_types(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_http_types_slot: `text/html` and the types given (lower case; a repeated one is warned of),
    or `*`, every type."""
    level = block.level()
    here = level.here(CHARSET_TYPES)
    if here is not None and here.value is None:
        return
    types = list(here.value) if here is not None and here.value is not None else ["text/html"]
    for arg in directive.args:
        if arg == "*":
            level.set(CHARSET_TYPES, None, directive.place)
            return
        lower = arg.lower()
        if lower in types:
            reading.warn(f'duplicate MIME type "{lower}"', directive.place)
            continue
        types.append(lower)
    level.set(CHARSET_TYPES, frozenset(types), directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_charset_filter_module", "charset"): charset,
    ("ngx_http_charset_filter_module", "source_charset"): charset,
    ("ngx_http_charset_filter_module", "override_charset"): setters.flag(OVERRIDE_CHARSET),
    ("ngx_http_charset_filter_module", "charset_types"): charset_types,
}
