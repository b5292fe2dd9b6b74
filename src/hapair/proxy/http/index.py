"""nginx's index module (ngx_http_index_module.c): a URI ending with a slash is redirected internally to
the first of the `index` files that exists in that directory (a name starting with a slash is a URI,
redirected to at once). When none exists the directory itself is tested: a missing one is 404 (`"..." is
not found`), and an existing one leaves the request to autoindex, or to the 403 of a directory listing.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from hapair.config.nginx.model.logging import ErrorLevel

from .exchange import DONE, NEXT
from .files import log_request_error
from .openfile import OpenError, test_file
from .static import FILE_METHODS

if TYPE_CHECKING:
    from .exchange import Exchange

_LINKS = frozenset({errno.EMLINK, errno.ELOOP})
_FILE_ERRORS = frozenset({errno.ENOTDIR, errno.ENAMETOOLONG, errno.EACCES})


def index(ex: Exchange) -> int:
    """ngx_http_index_handler."""
    if not ex.uri.endswith("/") or ex.method not in FILE_METHODS:
        return NEXT
    files = ex.route.files
    directory_tested = False
    for template in files.index:
        name = template.evaluate(ex)
        if name.startswith("/"):
            ex.internal_redirect(name, ex.args)
            return DONE
        mapped = files.map_uri(ex)
        if isinstance(mapped, int):
            return mapped
        directory = mapped[0]
        path = directory + name
        try:
            test_file(path.encode("latin-1"), files.symlink_rule(ex, path))
        except OpenError as failed:
            code = failed.code
            if code == 0:
                return 500
            if code in _LINKS:
                return 403
            if code in _FILE_ERRORS:
                return _index_error(ex, path, code)
            if not directory_tested:
                status = _test_directory(ex, directory, path)
                if status:
                    return status
                directory_tested = True
            if code == errno.ENOENT:
                continue
            log_request_error(ex, ErrorLevel.CRIT, failed.log_text(path))
            return 500
        ex.internal_redirect(ex.uri + name, ex.args)
        return DONE
    return NEXT


def _test_directory(ex: Exchange, directory: str, path: str) -> int:
    """ngx_http_index_test_dir: 0 when the directory exists (or may not be listed), else the status.
    The directory is tested without its trailing slash (an `alias` without one: as it is); nginx's
    message names the index file's `path` (it puts back the character it cut before logging)."""
    if len(directory) > 1 and directory.endswith("/"):
        directory = directory[:-1]
    files = ex.route.files
    try:
        info = test_file(directory.encode("latin-1"), files.symlink_rule(ex, directory))
    except OpenError as failed:
        code = failed.code
        if code in _LINKS:
            return 403
        if code == errno.ENOENT:
            return _index_error(ex, path, code)
        if code == errno.EACCES:
            return 0
        if code:
            log_request_error(ex, ErrorLevel.CRIT, failed.log_text(directory))
        return 500
    if info.is_dir:
        return 0
    log_request_error(ex, ErrorLevel.ALERT, f'"{path}" is not a directory')
    return 500


def _index_error(ex: Exchange, path: str, code: int) -> int:
    """ngx_http_index_error."""
    text = f"({code}: {os.strerror(code)})"
    if code == errno.EACCES:
        log_request_error(ex, ErrorLevel.ERROR, f'"{path}" is forbidden {text}')
        return 403
    if ex.route.files.settings.log_not_found:
        log_request_error(ex, ErrorLevel.ERROR, f'"{path}" is not found {text}')
    return 404
