"""The http core's directives about files: `root`, `alias`, `disable_symlinks`, `log_not_found`, `etag`,
`if_modified_since`, `max_ranges`, and how file bodies are read and sent (`sendfile`,
`sendfile_max_chunk`, `tcp_nopush`, `tcp_nodelay`, `postpone_output`, `read_ahead`, `directio`,
`directio_alignment`, `aio`, `aio_write`, `open_file_cache*`; the copy filter's `output_buffers`)
(ngx_http_core_module.c, ngx_http_copy_filter_module.c), with nginx's checks and messages.

Where hapair's data plane does not do what a value asks, the value is refused by name: a size for
`directio`, a thread pool named by variables in `aio threads=`. `open_file_cache` and its companions are
read and checked but cache nothing (see docs/nginx-differences.md)."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields_content import (
    AIO,
    AIO_WRITE,
    DIRECTIO,
    DIRECTIO_ALIGNMENT,
    DISABLE_SYMLINKS,
    ETAG,
    IF_MODIFIED_SINCE,
    LOG_NOT_FOUND,
    MAX_RANGES,
    OPEN_FILE_CACHE,
    OPEN_FILE_CACHE_ERRORS,
    OPEN_FILE_CACHE_EVENTS,
    OPEN_FILE_CACHE_MIN_USES,
    OPEN_FILE_CACHE_VALID,
    OUTPUT_BUFFERS,
    POSTPONE_OUTPUT,
    READ_AHEAD,
    ROOT,
    SENDFILE,
    SENDFILE_MAX_CHUNK,
    TCP_NODELAY,
    TCP_NOPUSH,
    RootSetting,
    SymlinksSetting,
)
from ..model.files import ALIAS_REGEX, Symlinks
from ..model.http import LocationMatch
from ..model.templates import Template
from ..numbers import atoi, parse_offset, parse_size, parse_time
from ..state import DEFAULT_THREAD_POOL
from ..variables import compile_template
from . import setters
from .core import thread_pool_add

_REGEX_MATCHES = (LocationMatch.REGEX, LocationMatch.REGEX_CASELESS)


def root(block: Block, directive: Directive, reading: Reading) -> None:
    """`root path` and `alias path` (ngx_http_core_root): one of the two per level."""
    is_alias = directive.name == "alias"
    level = block.level()
    here = level.here(ROOT)
    if here is not None:
        if here.value.is_alias == is_alias:
            raise directive.invalid("is duplicate")
        earlier = "alias" if here.value.is_alias else "root"
        raise directive.error(
            f'"{directive.name}" directive is duplicate, "{earlier}" directive was specified earlier'
        )
    location = block.location
    if is_alias and location is not None and location.match is LocationMatch.NAMED:
        raise directive.error('the "alias" directive cannot be used inside the named location')
    value = directive.args[0]
    for variable in ("document_root", "realpath_root"):
        if f"${variable}" in value or f"${{{variable}}}" in value:
            raise directive.error(
                f'the ${variable} variable cannot be used in the "{directive.name}" directive'
            )
    first = value[:1]
    if not is_alias and value.endswith("/"):
        value = value[:-1]
    if first not in ("/", "$"):
        value = block.main.paths.from_prefix(value)
    alias = 0
    if is_alias and location is not None:
        alias = ALIAS_REGEX if location.match in _REGEX_MATCHES else len(location.name)
    assert block.http is not None
    path = compile_template(value, block.http.variables, directive.place, directive.place)
    level.set(ROOT, RootSetting(path, alias, is_alias), directive.place)


def disable_symlinks(block: Block, directive: Directive, reading: Reading) -> None:
    """`disable_symlinks off | on | if_not_owner [from=part]` (ngx_http_disable_symlinks)."""
    level = block.level()
    if level.here(DISABLE_SYMLINKS) is not None:
        raise directive.invalid("is duplicate")
    symlinks: Symlinks | None = None
    start: Template | None = None
    for arg in directive.args:
        if arg in ("off", "on", "if_not_owner"):
            symlinks = Symlinks(arg)
        elif arg.startswith("from="):
            assert block.http is not None
            start = compile_template(arg[5:], block.http.variables, directive.place, directive.place)
        else:
            raise directive.error(f'invalid parameter "{arg}"')
    if symlinks is None:
        raise directive.error(f'"{directive.name}" must have "off", "on" or "if_not_owner" parameter')
    if len(directive.args) == 2:
        if start is None:
            raise directive.error(f'duplicate parameters "{directive.args[0]} {directive.args[1]}"')
        if symlinks is Symlinks.OFF:
            raise directive.error('"from=" cannot be used with "off" parameter')
    level.set(DISABLE_SYMLINKS, SymlinksSetting(symlinks, start), directive.place)


def aio(block: Block, directive: Directive, reading: Reading) -> None:
    """`aio off` or `aio threads[=POOL]` (ngx_http_core_set_aio; Debian's build has no file AIO): the
    slot holds the pool's name, "" for off. A pool named by a variable is refused."""
    level = block.level()
    if level.here(AIO) is not None:
        raise directive.invalid("is duplicate")
    value = directive.args[0]
    if value == "off":
        level.set(AIO, "", directive.place)
        return
    if value == "on":
        raise directive.error('"aio on" is unsupported on this platform')
    if not value.startswith("threads") or (len(value) > 7 and value[7] != "="):
        raise directive.invalid("invalid value")
    name = value[8:] if len(value) > 7 else DEFAULT_THREAD_POOL
    assert block.http is not None
    template = compile_template(name, block.http.variables, directive.place, directive.place)
    if template.constant_text is None:
        raise directive.unsupported("a thread pool named by variables")
    thread_pool_add(block, name, directive.place)
    level.set(AIO, name, directive.place)


def directio(block: Block, directive: Directive, reading: Reading) -> None:
    """`directio off` (ngx_http_core_directio); a size would need reads into aligned buffers."""
    level = block.level()
    if level.here(DIRECTIO) is not None:
        raise directive.invalid("is duplicate")
    value = directive.args[0]
    if value != "off":
        if parse_offset(value) is None:
            raise directive.invalid("invalid value")
        raise directive.unsupported(f'"{value}"')
    level.set(DIRECTIO, -1, directive.place)


def open_file_cache(block: Block, directive: Directive, reading: Reading) -> None:
    """`open_file_cache off | max=N [inactive=time]` (ngx_http_core_open_file_cache)."""
    level = block.level()
    if level.here(OPEN_FILE_CACHE) is not None:
        raise directive.invalid("is duplicate")
    largest, inactive, off = 0, 60, False
    for arg in directive.args:
        if arg.startswith("max="):
            found = atoi(arg[4:])
            if not found:
                raise directive.error(f'invalid "open_file_cache" parameter "{arg}"')
            largest = found
        elif arg.startswith("inactive="):
            seconds = parse_time(arg[9:], seconds=True)
            if seconds is None:
                raise directive.error(f'invalid "open_file_cache" parameter "{arg}"')
            inactive = seconds
        elif arg == "off":
            off = True
        else:
            raise directive.error(f'invalid "open_file_cache" parameter "{arg}"')
    if off:
        level.set(OPEN_FILE_CACHE, None, directive.place)
        return
    if not largest:
        raise directive.error('"open_file_cache" must have the "max" parameter')
    level.set(OPEN_FILE_CACHE, (largest, inactive), directive.place)


def output_buffers(block: Block, directive: Directive, reading: Reading) -> None:
    """`output_buffers number size` (ngx_conf_set_bufs_slot)."""
    level = block.level()
    if level.here(OUTPUT_BUFFERS) is not None:
        raise directive.invalid("is duplicate")
    number = atoi(directive.args[0])
    size = parse_size(directive.args[1])
    if not number or not size:
        raise directive.invalid("invalid value")
    level.set(OUTPUT_BUFFERS, (number, size), directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_core_module", "root"): root,
    ("ngx_http_core_module", "alias"): root,
    ("ngx_http_core_module", "disable_symlinks"): disable_symlinks,
    ("ngx_http_core_module", "log_not_found"): setters.flag(LOG_NOT_FOUND),
    ("ngx_http_core_module", "etag"): setters.flag(ETAG),
    ("ngx_http_core_module", "if_modified_since"): setters.choice(
        IF_MODIFIED_SINCE, ("off", "exact", "before")
    ),
    ("ngx_http_core_module", "max_ranges"): setters.number(MAX_RANGES),
    ("ngx_http_core_module", "sendfile"): setters.flag(SENDFILE),
    ("ngx_http_core_module", "sendfile_max_chunk"): setters.size(SENDFILE_MAX_CHUNK),
    ("ngx_http_core_module", "tcp_nopush"): setters.flag(TCP_NOPUSH),
    ("ngx_http_core_module", "tcp_nodelay"): setters.flag(TCP_NODELAY),
    ("ngx_http_core_module", "postpone_output"): setters.size(POSTPONE_OUTPUT),
    ("ngx_http_core_module", "read_ahead"): setters.size(READ_AHEAD),
    ("ngx_http_core_module", "directio"): directio,
    ("ngx_http_core_module", "directio_alignment"): setters.offset(DIRECTIO_ALIGNMENT),
    ("ngx_http_core_module", "aio"): aio,
    ("ngx_http_core_module", "aio_write"): setters.flag(AIO_WRITE),
    ("ngx_http_core_module", "open_file_cache"): open_file_cache,
    ("ngx_http_core_module", "open_file_cache_valid"): setters.sec(OPEN_FILE_CACHE_VALID),
    ("ngx_http_core_module", "open_file_cache_min_uses"): setters.number(OPEN_FILE_CACHE_MIN_USES),
    ("ngx_http_core_module", "open_file_cache_errors"): setters.flag(OPEN_FILE_CACHE_ERRORS),
    ("ngx_http_core_module", "open_file_cache_events"): setters.flag(OPEN_FILE_CACHE_EVENTS),
    ("ngx_http_copy_filter_module", "output_buffers"): output_buffers,
}
