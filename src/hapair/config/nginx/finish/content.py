"""The merges of the modules that serve files and filter response heads (the core's file settings, index,
autoindex, try_files, headers, charset): each level's values from the nearest level that sets them, with
nginx's defaults; and the charset module's check once the http block is read."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError
from ..fields_content import (
    ADD_HEADER,
    ADD_TRAILER,
    AIO,
    AUTOINDEX,
    AUTOINDEX_EXACT_SIZE,
    AUTOINDEX_FORMAT,
    AUTOINDEX_LOCALTIME,
    CHARSET,
    CHARSET_NAMES,
    CHARSET_TYPES,
    DISABLE_SYMLINKS,
    ETAG,
    EXPIRES,
    IF_MODIFIED_SINCE,
    INDEX,
    LOG_NOT_FOUND,
    MAX_RANGES,
    OUTPUT_BUFFERS,
    OVERRIDE_CHARSET,
    READ_AHEAD,
    ROOT,
    SENDFILE,
    SENDFILE_MAX_CHUNK,
    SOURCE_CHARSET,
    TCP_NOPUSH,
    TRY_FILES,
    CharsetSetting,
    SymlinksSetting,
)
from ..model.files import Autoindex, AutoindexFormat, DocumentRoot, Files, IfModifiedSince, Symlinks
from ..model.headers import NO_EXPIRES, CharsetFilter, CharsetName, HeadersFilter
from ..model.templates import Literal, Template
from ..settings import Level

DEFAULT_ROOT = "html"  # under the prefix: /usr/share/nginx/html with Debian's
DEFAULT_INDEX = Template("index.html", (Literal("index.html"),))
DEFAULT_CHARSET_TYPES = frozenset(
    {
        "text/html",
        "text/xml",
        "text/plain",
        "text/vnd.wap.wml",
        "application/javascript",
        "application/rss+xml",
    }
)
MAX_INT32 = 2**31 - 1
_NO_SYMLINKS_RULE = SymlinksSetting(Symlinks.OFF, None)


def files(level: Level, prefix: str) -> Files:
    """The core, index, autoindex and try_files modules' merged settings of a level."""
    found = level.find(ROOT)
    if found is None:
        path = prefix + DEFAULT_ROOT
        root = DocumentRoot(Template(path, (Literal(path),)), 0, prefix)
    else:
        root = DocumentRoot(found.value.path, found.value.alias, prefix)
    symlinks = level.value(DISABLE_SYMLINKS, _NO_SYMLINKS_RULE)
    own_try_files = level.here(TRY_FILES)
    return Files(
        root=root,
        index=level.value(INDEX, (DEFAULT_INDEX,)),
        autoindex=Autoindex(
            enabled=level.value(AUTOINDEX, False),
            format=AutoindexFormat(level.value(AUTOINDEX_FORMAT, "html")),
            localtime=level.value(AUTOINDEX_LOCALTIME, False),
            exact_size=level.value(AUTOINDEX_EXACT_SIZE, True),
        ),
        try_files=own_try_files.value if own_try_files is not None else None,
        symlinks=symlinks.symlinks,
        symlinks_from=symlinks.start,
        log_not_found=level.value(LOG_NOT_FOUND, True),
        etag=level.value(ETAG, True),
        if_modified_since=IfModifiedSince(level.value(IF_MODIFIED_SINCE, "exact")),
        max_ranges=level.value(MAX_RANGES, MAX_INT32),
        sendfile=level.value(SENDFILE, False),
        sendfile_max_chunk=level.value(SENDFILE_MAX_CHUNK, 2 * 1024 * 1024),
        tcp_nopush=level.value(TCP_NOPUSH, False),
        output_buffer_size=level.value(OUTPUT_BUFFERS, (2, 32 * 1024))[1],
        thread_pool=level.value(AIO, "") or None,
        read_ahead=level.value(READ_AHEAD, 0),
    )


def headers_filter(level: Level) -> HeadersFilter:
    """The headers module's merge: the nearest `expires`, and the nearest level's lists."""
    return HeadersFilter(
        expires=level.value(EXPIRES, NO_EXPIRES),
        headers=level.value(ADD_HEADER, ()),
        trailers=level.value(ADD_TRAILER, ()),
    )


def charset_filter(level: Level) -> CharsetFilter:
    """The charset module's merge; names are spelled as the http block first wrote them."""
    names = _charset_names(level)
    types = level.find(CHARSET_TYPES)
    return CharsetFilter(
        charset=_charset_name(level.value(CHARSET, None), names),
        source=_charset_name(level.value(SOURCE_CHARSET, None), names),
        override=level.value(OVERRIDE_CHARSET, False),
        types=DEFAULT_CHARSET_TYPES if types is None else types.value,
        known=frozenset(name.lower() for name in names),
    )


def check_charset_maps(levels: Iterable[Level]) -> None:
    """ngx_http_charset_postconfiguration: a level that recodes from one named charset to another needs
    a `charset_map` between them, and hapair has none."""
    for level in levels:
        names = _charset_names(level)
        charset = _charset_name(level.value(CHARSET, None), names)
        source = _charset_name(level.value(SOURCE_CHARSET, None), names)
        if charset is None or source is None or charset.variable is not None or source.variable is not None:
            continue
        if charset.name != source.name:
            raise ConfigError(
                f'no "charset_map" between the charsets "{source.name}" and "{charset.name}"', None
            )


def _charset_names(level: Level) -> list[str]:
    http = level
    while http.parent is not None:
        http = http.parent
    found = http.here(CHARSET_NAMES)
    return found.value if found is not None else []


def _charset_name(setting: CharsetSetting | None, names: list[str]) -> CharsetName | None:
    if setting is None or (setting.name is None and setting.variable is None):
        return None
    if setting.variable is not None:
        return CharsetName("", setting.variable)
    assert setting.name is not None
    spelled = next(name for name in names if name.lower() == setting.name.lower())
    return CharsetName(spelled, None)
