"""The try_files module's `try_files file ... uri | =code` (ngx_http_try_files_module.c). A level's
`try_files` is its own: nginx does not inherit it."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields_content import TRY_FILES
from ..model.files import TryFile, TryFiles
from ..numbers import atoi
from ..variables import compile_template, has_variables


def try_files(block: Block, directive: Directive, reading: Reading) -> None:
    """ngx_http_try_files: a name with a trailing slash (not the last) looks for a directory; a last
    parameter `=code` answers with that status."""
    assert block.http is not None
    level = block.level()
    if level.here(TRY_FILES) is not None:
        raise directive.invalid("is duplicate")
    uses, place = block.http.variables, directive.place
    args = directive.args
    files = []
    for name in args[:-1]:
        directory = name.endswith("/")
        if directory:
            name = name[:-1]
        files.append(TryFile(compile_template(name, uses, place, place), directory))
    last = args[-1]
    template = compile_template(last, uses, place, place)
    code = 0
    if last.startswith("="):
        # nginx's length of a name with variables has no room for its terminating NUL: one digit less
        shown = last if not has_variables(last) else last[:-1]
        found = atoi(shown[1:])
        if found is None or found > 999:
            raise directive.error(f'invalid code "{shown}"')
        code = found
    level.set(TRY_FILES, TryFiles(tuple(files), template, code), directive.place)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_try_files_module", "try_files"): try_files,
}
