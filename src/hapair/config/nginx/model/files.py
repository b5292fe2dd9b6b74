"""How a server or location serves files: the core module's `root`/`alias` and file directives, and the
index, autoindex and try_files modules (ngx_http_core_module.c, ngx_http_index_module.c,
ngx_http_autoindex_module.c, ngx_http_try_files_module.c). Values are nginx's merged ones, with its
defaults."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .templates import Template

ALIAS_REGEX = -1  # nginx's NGX_MAX_SIZE_T_VALUE: `alias` in a regular expression location


@dataclass(frozen=True, slots=True)
class DocumentRoot:
    """`root` or `alias` (clcf->root and clcf->alias).

    `path` is absolute already when it does not start with a variable; otherwise its value is made
    absolute from `prefix` per request. `alias` is 0 for `root` (a file's path is the root and the URI),
    the length of the location's name for `alias` (that much of the URI is replaced by the path), or
    ALIAS_REGEX for `alias` in a regular expression location (the path, with its captures, is the file)."""

    path: Template
    alias: int
    prefix: str


class Symlinks(Enum):
    """`disable_symlinks`."""

    OFF = "off"
    ON = "on"
    IF_NOT_OWNER = "if_not_owner"


class IfModifiedSince(Enum):
    OFF = "off"
    EXACT = "exact"
    BEFORE = "before"


class AutoindexFormat(Enum):
    HTML = "html"
    XML = "xml"
    JSON = "json"
    JSONP = "jsonp"


@dataclass(frozen=True, slots=True)
class TryFile:
    """One file of `try_files`; `directory`: written with a trailing slash, so a directory is looked for."""

    name: Template
    directory: bool


@dataclass(frozen=True, slots=True)
class TryFiles:
    """`try_files`: the files tried in order, then the last parameter (a URI, a `@name`, or `=code`,
    in which case `code` holds the status)."""

    files: tuple[TryFile, ...]
    last: Template
    code: int


@dataclass(frozen=True, slots=True)
class Autoindex:
    enabled: bool
    format: AutoindexFormat
    localtime: bool
    exact_size: bool


@dataclass(frozen=True, slots=True)
class Files:
    """What serving files at a server or location uses (sizes in bytes)."""

    root: DocumentRoot
    index: tuple[Template, ...]
    autoindex: Autoindex
    try_files: TryFiles | None  # the level's own: try_files is not inherited
    symlinks: Symlinks
    symlinks_from: Template | None
    log_not_found: bool
    etag: bool
    if_modified_since: IfModifiedSince
    max_ranges: int
    sendfile: bool
    sendfile_max_chunk: int  # 0: no limit
    tcp_nopush: bool
    output_buffer_size: int  # what one read of a file brings when it is not sent with sendfile
    thread_pool: str | None  # `aio threads`: the pool that reads and sends files (None: `aio off`)
    read_ahead: int
