"""A location's file settings made ready for requests (the core module's part of serving files): the
path of a URI under `root` or `alias` (ngx_http_map_uri_to_path), `$document_root`, `$realpath_root`,
`$request_filename`, the `disable_symlinks` rule of a path (ngx_http_set_disable_symlinks), and the
request's context that nginx adds to each error-log line.

Paths are `str` with one character per byte (latin-1), as the URI is; the configuration's own text
(UTF-8) is turned into bytes the same way before it is joined to a URI.

No path leaves its `root` or `alias` through the URI: nginx's URI has no `..` segment left, but an
`alias` whose location does not end with a slash (`location /i { alias /data/; }`) joins `/data/` to
`../secret` for `/i../secret`, which nginx serves (a known hole). hapair refuses a path whose part from
the URI (or, with variables, whose value) has a `..` segment, as not found.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hapair.config.nginx.errors import os_error_text
from hapair.config.nginx.model.files import ALIAS_REGEX, Files, Symlinks
from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.model.templates import Literal, Template

from .logcontext import log_request_error
from .openfile import FOLLOW, SymlinkRule
from .proxying import Proxying
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from .exchange import Exchange
    from .response import ResponseHead


def wire_template(template: Template) -> CompiledTemplate:
    """A template whose literal text is in bytes as the wire's values are (one character per byte)."""
    parts = tuple(
        Literal(part.text.encode("utf-8", "surrogateescape").decode("latin-1"))
        if isinstance(part, Literal)
        else part
        for part in template.parts
    )
    return CompiledTemplate(Template(template.source, parts))


class LocationFiles:
    """`Files` of one location (or server) made ready: `root` is the root's or alias's value when it has
    no variables."""

    __slots__ = (
        "_from",
        "_path",
        "alias",
        "index",
        "location_name",
        "prefix",
        "root",
        "settings",
        "try_last",
        "try_names",
    )

    def __init__(self, settings: Files, location_name: str) -> None:
        self.settings = settings
        self.location_name = location_name
        root = settings.root
        self.alias = root.alias
        self.prefix = root.prefix.encode("utf-8", "surrogateescape").decode("latin-1")
        self._path = wire_template(root.path)
        self.root = self._path.constant if root.alias != ALIAS_REGEX else None
        self.index = tuple(wire_template(name) for name in settings.index)
        self._from = wire_template(settings.symlinks_from) if settings.symlinks_from is not None else None
        try_files = settings.try_files
        self.try_names = tuple(wire_template(name.name) for name in try_files.files) if try_files else ()
        self.try_last = wire_template(try_files.last) if try_files is not None else None

    def document_root(self, ex: Exchange) -> str:
        """`$document_root`: the root's or alias's value, made absolute."""
        if self.root is not None:
            return self.root
        value = self._path.evaluate(ex)
        return value if value.startswith("/") else self.prefix + value

    def map_uri(self, ex: Exchange) -> tuple[str, int] | int:
        """ngx_http_map_uri_to_path: the file of the request's URI and the length of its root part, or
        the status to answer when there is none (logged): 500 as nginx, or 404 for a path that `..`
        would lead out of its root."""
        alias = self.alias
        if alias and not ex.valid_location:
            log_request_error(
                ex,
                ErrorLevel.ALERT,
                f'"alias" cannot be used in location "{self.location_name}" where URI was rewritten',
            )
            return 500
        root = self.document_root(ex)
        if alias == ALIAS_REGEX:
            path = root + ex.uri if ex.add_uri_to_alias else root
            trusted = self._path.constant
        else:
            path = root + ex.uri[alias:]
            trusted = root if self.root is not None else None
        if escapes_root(path[len(trusted) :] if trusted is not None else path):
            log_request_error(ex, ErrorLevel.ERROR, f'"{path}" leads out of its root, not served')
            return 404
        return path, len(root)

    def realpath_root(self, ex: Exchange) -> str | None:
        """`$realpath_root`: the document root with its links resolved (None if it does not resolve,
        logged as nginx does)."""
        root = self.document_root(ex)
        try:
            return os.path.realpath(root.encode("latin-1"), strict=True).decode("latin-1")
        except OSError as exc:
            log_request_error(ex, ErrorLevel.CRIT, f'realpath() "{root}" failed {os_error_text(exc)}')
            return None

    def request_filename(self, ex: Exchange) -> str | None:
        """`$request_filename`: the file of the request's URI."""
        mapped = self.map_uri(ex)
        return None if isinstance(mapped, int) else mapped[0]

    def symlink_rule(self, ex: Exchange, path: str) -> SymlinkRule:
        """ngx_http_set_disable_symlinks: `from=` applies to a path under it."""
        settings = self.settings
        if settings.symlinks is Symlinks.OFF:
            return FOLLOW
        if self._from is None:
            return SymlinkRule(settings.symlinks)
        start = self._from.evaluate(ex)
        if not start or len(start) > len(path) or not path.startswith(start):
            return SymlinkRule(settings.symlinks)
        if len(start) == len(path):
            return FOLLOW
        if path[len(start)] == "/":
            return SymlinkRule(settings.symlinks, len(start))
        if start.endswith("/"):
            return SymlinkRule(settings.symlinks, len(start) - 1)
        return SymlinkRule(settings.symlinks)


def escapes_root(part: str) -> bool:
    """Whether a path part has a `..` segment."""
    return part == ".." or part.startswith("../") or "/../" in part or part.endswith("/..")


SENDING = "sending response to client"  # nginx's log action once a content handler sends its answer
UPSTREAM_HEADER = "reading response header from upstream"


def log_response_error(ex: Exchange, head: ResponseHead, level: ErrorLevel, text: str) -> None:
    """A line about the response being sent: an upstream's (nginx is still reading its head), or one of
    nginx's own."""
    content = ex.content
    if head.status_text is None or not isinstance(content, Proxying):
        log_request_error(ex, level, text, SENDING if content is not None else None)
        return
    log_request_error(ex, level, text, UPSTREAM_HEADER, content.upstream_url())
