"""The stream modules that make variables: `map`, `map_hash_max_size`, `map_hash_bucket_size`
(ngx_stream_map_module.c) and `split_clients` (ngx_stream_split_clients_module.c), which are http's
(their handlers are shared), and `set` (ngx_stream_set_module.c, nginx 1.19.3+), with nginx's checks and
messages."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..model.rewrite import SetVariable
from ..variables import compile_template
from . import setters
from .http_map import MAP_HASH_BUCKET_SIZE, MAP_HASH_MAX_SIZE, map_block
from .http_split_clients import split_clients


def set_(block: Block, directive: Directive, reading: Reading) -> None:
    """`set $name value` in a stream server: the value, evaluated in the preaccess phase, is the
    variable's for the rest of the session. nginx adds the variable (NGX_STREAM_VAR_CHANGEABLE): one of
    its own that may not change is a duplicate; the ssl module's, which may, hapair does not set."""
    stream, server = block.stream, block.stream_server
    assert stream is not None and server is not None
    target, value = directive.args
    if not target.startswith("$"):
        raise directive.error(f'invalid variable name "{target}"')
    written = target[1:]
    if not written:
        raise directive.error('invalid variable name "$"')
    name = written.lower()
    uses = stream.variables
    if uses.catalog.knows(name):
        if name not in uses.catalog.changeable:
            raise directive.error(f'the duplicate "{written}" variable')
        raise directive.unsupported(f'setting the "${name}" variable')
    uses.define(name)
    template = compile_template(value, uses, directive.place, directive.place)
    server.sets.append(SetVariable(name, template, directive.place))


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_stream_map_module", "map"): map_block,
    ("ngx_stream_map_module", "map_hash_max_size"): setters.number(MAP_HASH_MAX_SIZE),
    ("ngx_stream_map_module", "map_hash_bucket_size"): setters.number(MAP_HASH_BUCKET_SIZE),
    ("ngx_stream_split_clients_module", "split_clients"): split_clients,
    ("ngx_stream_set_module", "set"): set_,
}
