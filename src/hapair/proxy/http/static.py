"""nginx's static module (ngx_http_static_module.c) and the end of its content phase: a URI that does not
end with a slash is the file under the location's root or alias, answered with its type, length,
`Last-Modified` and `ETag` (ranges and conditional requests by the filters); a directory gets a 301 to
its name with a slash; a URI ending with a slash that neither index nor autoindex answered is a
forbidden directory listing (403).

Only GET, HEAD and POST reach a file (POST to a file is 405, as the other methods); a missing file is 404,
one the worker may not open 403, each with nginx's error-log line (`open() "/srv/x" failed (2: No such
file or directory)`, `log_not_found` deciding for the 404s).
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel

from .exchange import DONE, NEXT
from .filebody import FileBody
from .files import log_request_error
from .openfile import OpenError, open_file
from .response import ResponseHead
from .uri import escape_uri

if TYPE_CHECKING:
    from .exchange import Exchange

FILE_METHODS = frozenset({b"GET", b"HEAD", b"POST"})
NOT_FOUND_ERRORS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG})
FORBIDDEN_ERRORS = frozenset({errno.EACCES, errno.EMLINK, errno.ELOOP})


def static(ex: Exchange) -> int:
    """ngx_http_static_handler."""
    if ex.method not in FILE_METHODS:
        return 405
    if ex.uri.endswith("/"):
        return NEXT
    files = ex.route.files
    mapped = files.map_uri(ex)
    if isinstance(mapped, int):
        return mapped
    path = mapped[0]
    try:
        info = open_file(path.encode("latin-1"), files.symlink_rule(ex, path), files.settings.read_ahead)
    except OpenError as failed:
        return _open_failed(ex, failed, path)
    if info.is_dir:
        _redirect_to_directory(ex)
        return DONE
    if not info.is_file:
        os.close(info.fd)
        log_request_error(ex, ErrorLevel.CRIT, f'"{path}" is not a regular file')
        return 404
    if ex.method == b"POST":
        os.close(info.fd)
        return 405
    head = ResponseHead(200)
    head.content_length = info.size
    head.last_modified = info.mtime
    if files.settings.etag:
        head.add(b"ETag", b'"%x-%x"' % (info.mtime, info.size))
    head.content_type = ex.route.content_type(ex.uri).encode("utf-8", "surrogateescape")
    head.allow_ranges = True
    body = FileBody(ex, info.fd, path)
    ex.content = body
    if ex.send_head(head):
        body.start(info.size, head.ranges)
    return DONE


def _open_failed(ex: Exchange, failed: OpenError, path: str) -> int:
    code = failed.code
    if code == 0:
        return 500
    if code in NOT_FOUND_ERRORS:
        if ex.route.files.settings.log_not_found:
            log_request_error(ex, ErrorLevel.ERROR, failed.log_text(path))
        return 404
    if code in FORBIDDEN_ERRORS:
        log_request_error(ex, ErrorLevel.ERROR, failed.log_text(path))
        return 403
    log_request_error(ex, ErrorLevel.CRIT, failed.log_text(path))
    return 500


def _redirect_to_directory(ex: Exchange) -> None:
    """A directory asked for without its slash: 301 to the URI (escaped) with one, and the arguments."""
    location = (escape_uri(ex.uri) + "/").encode("latin-1")
    if ex.args:
        location += b"?" + ex.args.encode("latin-1")
    head = ResponseHead(301)
    head.set_location(location)
    ex.finalize(301, head)


def directory_index_forbidden(ex: Exchange) -> int:
    """ngx_http_core_content_phase when no module answered a URI ending with a slash."""
    mapped = ex.route.files.map_uri(ex)
    if not isinstance(mapped, int):
        log_request_error(ex, ErrorLevel.ERROR, f'directory index of "{mapped[0]}" is forbidden')
    return 403
