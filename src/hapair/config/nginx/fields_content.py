"""The values of the directives that serve files and filter response heads (nginx's core file
directives, the index, autoindex, try_files, headers and charset modules), as fields.py holds the
others: written by their handlers in directives/, read by finish/content.py."""

from __future__ import annotations

from dataclasses import dataclass

from .model.files import Symlinks, TryFiles
from .model.headers import AddedHeader, Expires
from .model.templates import Template
from .settings import Slot


@dataclass(frozen=True, slots=True)
class RootSetting:
    """`root` or `alias` as read: the path (absolute unless it starts with a variable) and, for `alias`,
    how much of the URI it replaces (model.files.DocumentRoot.alias)."""

    path: Template
    alias: int
    is_alias: bool


@dataclass(frozen=True, slots=True)
class SymlinksSetting:
    symlinks: Symlinks
    start: Template | None  # from=


@dataclass(frozen=True, slots=True)
class CharsetSetting:
    """A `charset` or `source_charset`: None for `off`, else a name or a `$variable`."""

    name: str | None
    variable: str | None


ROOT = Slot[RootSetting]("root")
INDEX = Slot[tuple[Template, ...]]("index")
AUTOINDEX = Slot[bool]("autoindex")
AUTOINDEX_FORMAT = Slot[str]("autoindex_format")
AUTOINDEX_LOCALTIME = Slot[bool]("autoindex_localtime")
AUTOINDEX_EXACT_SIZE = Slot[bool]("autoindex_exact_size")
TRY_FILES = Slot[TryFiles]("try_files")
DISABLE_SYMLINKS = Slot[SymlinksSetting]("disable_symlinks")
LOG_NOT_FOUND = Slot[bool]("log_not_found")
ETAG = Slot[bool]("etag")
IF_MODIFIED_SINCE = Slot[str]("if_modified_since")
MAX_RANGES = Slot[int]("max_ranges")
SENDFILE = Slot[bool]("sendfile")
SENDFILE_MAX_CHUNK = Slot[int]("sendfile_max_chunk")
TCP_NOPUSH = Slot[bool]("tcp_nopush")
TCP_NODELAY = Slot[bool]("tcp_nodelay")
POSTPONE_OUTPUT = Slot[int]("postpone_output")
OUTPUT_BUFFERS = Slot[tuple[int, int]]("output_buffers")
READ_AHEAD = Slot[int]("read_ahead")
DIRECTIO = Slot[int]("directio")  # -1: off
DIRECTIO_ALIGNMENT = Slot[int]("directio_alignment")
AIO = Slot[str]("aio")
AIO_WRITE = Slot[bool]("aio_write")
OPEN_FILE_CACHE = Slot[tuple[int, int] | None]("open_file_cache")  # (max, inactive seconds); None: off
OPEN_FILE_CACHE_VALID = Slot[int]("open_file_cache_valid")
OPEN_FILE_CACHE_MIN_USES = Slot[int]("open_file_cache_min_uses")
OPEN_FILE_CACHE_ERRORS = Slot[bool]("open_file_cache_errors")
OPEN_FILE_CACHE_EVENTS = Slot[bool]("open_file_cache_events")

EXPIRES = Slot[Expires]("expires")
ADD_HEADER = Slot[tuple[AddedHeader, ...]]("add_header")
ADD_TRAILER = Slot[tuple[AddedHeader, ...]]("add_trailer")

CHARSET = Slot[CharsetSetting]("charset")
SOURCE_CHARSET = Slot[CharsetSetting]("source_charset")
OVERRIDE_CHARSET = Slot[bool]("override_charset")
CHARSET_TYPES = Slot[frozenset[str] | None]("charset_types")  # None: `*`
CHARSET_NAMES = Slot[list[str]]("charset")  # in the http block's own level: every name, as first written
