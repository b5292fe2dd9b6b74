"""nginx's try_files module (ngx_http_try_files_module.c): the files (or, with a trailing slash,
directories) are looked for in order under the root or alias; the first found becomes the request's URI
and the content handler goes on with it; when none is, the last parameter answers: `=code`, a named
location, or a URI (with its own arguments after a `?`, none otherwise) redirected to internally.

With `alias`, a name starting with the location's name has that part taken off (only for names with
variables, as nginx); with an `alias` in a regular expression location the file's name is kept apart
from the URI. A name with a `..` segment (from a variable) is never looked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hapair.config.nginx.model.files import ALIAS_REGEX
from hapair.config.nginx.model.logging import ErrorLevel

from .exchange import DONE, NEXT
from .files import escapes_root, log_request_error
from .openfile import OpenError, test_file
from .static import NOT_FOUND_ERRORS

if TYPE_CHECKING:
    from .exchange import Exchange
    from .variables import CompiledTemplate


def try_files(ex: Exchange) -> int:
    """ngx_http_try_files_handler."""
    files = ex.route.files
    settings = files.settings.try_files
    assert settings is not None and files.try_last is not None
    for tried, template in zip(settings.files, files.try_names, strict=True):
        mapped = files.map_uri(ex)
        if isinstance(mapped, int):
            return mapped
        name = _name(ex, template)
        path = mapped[0][: mapped[1]] + name
        if escapes_root(name):
            log_request_error(ex, ErrorLevel.ERROR, f'"{path}" leads out of its root, not served')
            continue
        try:
            info = test_file(path.encode("latin-1"), files.symlink_rule(ex, path))
        except OpenError as failed:
            if failed.code == 0:
                return 500
            if failed.code not in NOT_FOUND_ERRORS:
                log_request_error(ex, ErrorLevel.CRIT, failed.log_text(path))
            continue
        if info.is_dir != tried.directory:
            continue
        _use(ex, name, directory=tried.directory)
        return NEXT
    if settings.code:
        return settings.code
    last = _name(ex, files.try_last)
    if last.startswith("@"):
        ex.named_location(last)
    else:
        uri, mark, args = last.partition("?")
        ex.internal_redirect(uri, args if mark else None)
    return DONE


def _name(ex: Exchange, template: CompiledTemplate) -> str:
    """A parameter's value; with `alias`, a value with variables loses the location's part of the URI."""
    name = template.evaluate(ex)
    alias = ex.route.files.alias
    if template.constant is None and alias and alias != ALIAS_REGEX and name.startswith(ex.uri[:alias]):
        return name[alias:]
    return name


def _use(ex: Exchange, name: str, *, directory: bool) -> None:
    """The file found becomes the URI (with a regular expression's alias, the part after the alias)."""
    alias = ex.route.files.alias
    if not alias:
        ex.uri = name
    elif alias == ALIAS_REGEX:
        if not directory:
            ex.uri = name
            ex.add_uri_to_alias = True
    else:
        ex.uri = ex.uri[:alias] + name
