"""The index module's `index` (ngx_http_index_module.c): the files looked for in a directory asked for
with a trailing slash. Each `index` directive of a level adds to that level's list."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields_content import INDEX
from ..variables import compile_template


def index(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_http_index_set_index, with its warning and its message (which names the first file)."""
    assert block.http is not None
    level = block.level()
    here = level.here(INDEX)
    names = list(here.value) if here is not None else []
    args = directive.args
    for position, name in enumerate(args):
        if name.startswith("/") and position != len(args) - 1:
            reading.warn('only the last index in "index" directive should be absolute', directive.place)
        if not name:
            raise directive.error(f'index "{args[0]}" in "index" directive is invalid')
        names.append(compile_template(name, block.http.variables, directive.place, directive.place))
    level.set(INDEX, tuple(names), here.place if here is not None else directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_index_module", "index"): index,
}
