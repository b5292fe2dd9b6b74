"""The rewrite module at run time (ngx_http_rewrite_module and ngx_http_script.c's codes): a server's or
location's `rewrite`, `return`, `set`, `break` and `if` directives made into a `Script` once, run on each
request in the rewrite phases.

What each directive does, as nginx: `rewrite` matches the regular expression against `$uri`; a match sets
the captures (`$1`..., named groups) and changes the URI (and the arguments, from a `?` in the replacement)
or redirects; a failed match clears the captures. `if` evaluates its condition (a regular expression that
matches sets the captures, one that does not clears them); once it holds, an `if` in a location makes its
settings the request's, and its directives run, then those after it. `return` answers; `break` and the
`last`/`break` flags end the script.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from hapair.config.nginx.model.logging import ErrorLevel
from hapair.config.nginx.model.rewrite import (
    Break,
    Compare,
    Comparison,
    Condition,
    FileTest,
    If,
    IsTrue,
    Matches,
    Return,
    Rewrite,
    RewriteFlag,
    SetVariable,
    Statement,
    TestFile,
)
from hapair.config.nginx.model.templates import Literal, Template

from .exchange import DONE, NEXT
from .response import REDIRECTS, ResponseHead
from .variables import CompiledTemplate

if TYPE_CHECKING:
    from hapair.config.nginx.model.http import Location

    from .exchange import Exchange
    from .service import Route

_CONTINUE: Final = 0  # the next directive
_STOP: Final = 1  # the script ends; the request goes on
# DONE (-1): the request is answered or went elsewhere

Code = Callable[["Exchange"], int]
RouteOf = Callable[["Location"], "Route"]


class Script:
    """The directives of one server or location."""

    __slots__ = ("_codes",)

    def __init__(self, statements: tuple[Statement, ...], route_of: RouteOf, *, log: bool) -> None:
        self._codes = _compile(statements, route_of, log)

    def run(self, ex: Exchange) -> int:
        """NEXT when the request goes on (its URI may have changed), DONE when it was answered."""
        for code in self._codes:
            outcome = code(ex)
            if outcome == DONE:
                return DONE
            if outcome == _STOP:
                break
        return NEXT


def _compile(statements: tuple[Statement, ...], route_of: RouteOf, log: bool) -> tuple[Code, ...]:
    return tuple(_code(statement, route_of, log) for statement in statements)


def _code(statement: Statement, route_of: RouteOf, log: bool) -> Code:
    if isinstance(statement, Rewrite):
        return _rewrite(statement, log)
    if isinstance(statement, Return):
        return _return(statement)
    if isinstance(statement, SetVariable):
        return _set(statement)
    if isinstance(statement, Break):
        return _break
    assert isinstance(statement, If)
    return _if(statement, route_of, log)


def _run(codes: tuple[Code, ...], ex: Exchange) -> int:
    for code in codes:
        outcome = code(ex)
        if outcome != _CONTINUE:
            return outcome
    return _CONTINUE


def _split_at_query(template: Template) -> tuple[CompiledTemplate, CompiledTemplate | None]:
    """A replacement's URI and arguments: split at its first literal `?` (a `?` in a variable's value
    stays in the URI, as in nginx)."""
    parts = template.parts
    for index, part in enumerate(parts):
        if isinstance(part, Literal) and "?" in part.text:
            before, _, after = part.text.partition("?")
            head = (*parts[:index], Literal(before)) if before else parts[:index]
            tail = (Literal(after), *parts[index + 1 :]) if after else parts[index + 1 :]
            return (
                CompiledTemplate(Template(template.source, tuple(head))),
                CompiledTemplate(Template(template.source, tuple(tail))),
            )
    return CompiledTemplate(template), None


def _rewrite(statement: Rewrite, log: bool) -> Code:
    pattern = statement.pattern
    source = statement.source
    flag = statement.flag
    add_args = statement.add_args
    if statement.redirect:
        replacement = CompiledTemplate(statement.replacement)
        status = statement.redirect

        def redirect(ex: Exchange) -> int:
            match = _match(ex, pattern, source, ex.uri, log)
            if match is None:
                return _CONTINUE
            target = unescape_redirect(replacement.evaluate(ex))
            if add_args and ex.args:
                target += ("&" if "?" in target else "?") + ex.args
            if log:
                ex.log_error(ErrorLevel.NOTICE, f'rewritten redirect: "{target}"')
            head = ResponseHead(status)
            head.set_location(target.encode("latin-1", "replace"))
            ex.finalize(status, head)
            return DONE

        return redirect

    uri_part, args_part = _split_at_query(statement.replacement)

    def rewrite(ex: Exchange) -> int:
        match = _match(ex, pattern, source, ex.uri, log)
        if match is None:
            return _CONTINUE
        uri = uri_part.evaluate(ex)
        if args_part is not None:
            args = args_part.evaluate(ex)
            if add_args and ex.args:
                args = f"{args}&{ex.args}"
            ex.args = args
        elif not add_args:
            ex.args = None
        if log:
            ex.log_error(ErrorLevel.NOTICE, f'rewritten data: "{uri}", args: "{ex.args or ""}"')
        ex.internal = True
        ex.valid_unparsed_uri = False
        if flag is RewriteFlag.BREAK:
            ex.valid_location = False
            ex.uri_changed = False
        else:
            ex.uri_changed = True
        if not uri:
            ex.log_error(ErrorLevel.ERROR, "the rewritten URI has a zero length")
            ex.finalize(500)
            return DONE
        ex.uri = uri
        return _STOP if flag in (RewriteFlag.LAST, RewriteFlag.BREAK) else _CONTINUE

    return rewrite


def _match(ex: Exchange, pattern: object, source: str, value: str, log: bool) -> object:
    """Run a regular expression as nginx's script does: a match sets the captures, a miss clears them."""
    match = pattern.search(value)  # type: ignore[attr-defined]
    if log:
        verb = "matches" if match is not None else "does not match"
        ex.log_error(ErrorLevel.NOTICE, f'"{source}" {verb} "{value}"')
    ex.match = match
    if match is not None and match.re.groupindex:
        ex.capture_names(match)
    return match


def _return(statement: Return) -> Code:
    status = statement.status
    text = CompiledTemplate(statement.text) if statement.text is not None else None
    if status >= 400 and text is None:

        def error(ex: Exchange) -> int:
            ex.finalize(status)
            return DONE

        return error

    def answer(ex: Exchange) -> int:
        value = text.evaluate(ex) if text is not None else ""
        head = ResponseHead(status)
        if status in REDIRECTS:
            head.set_location(value.encode("latin-1", "replace"))
            ex.finalize(status, head)
            return DONE
        head.content_type = ex.content_type or ex.route.content_type(ex.uri).encode("latin-1")
        ex.respond(head, value.encode("latin-1", "replace"))
        return DONE

    return answer


def _set(statement: SetVariable) -> Code:
    name = statement.name
    value = CompiledTemplate(statement.value)
    if name == "args":

        def set_args(ex: Exchange) -> int:
            ex.args = value.evaluate(ex) or None
            return _CONTINUE

        return set_args

    def set_variable(ex: Exchange) -> int:
        ex.set_variable(name, value.evaluate(ex))
        return _CONTINUE

    return set_variable


def _break(ex: Exchange) -> int:
    if ex.uri_changed:
        ex.valid_location = False
        ex.uri_changed = False
    return _STOP


def _if(statement: If, route_of: RouteOf, log: bool) -> Code:
    holds = _condition(statement.condition, log)
    body = _compile(statement.body, route_of, log)
    route = route_of(statement.location) if statement.location is not None else None

    def if_(ex: Exchange) -> int:
        if not holds(ex):
            return _CONTINUE
        if route is not None:
            ex.route = route
        return _run(body, ex)

    return if_


def _condition(condition: Condition, log: bool) -> Callable[[Exchange], bool]:
    if isinstance(condition, IsTrue):
        value = CompiledTemplate(condition.value)
        return lambda ex: _true(value.evaluate(ex))
    if isinstance(condition, Compare):
        left, right = CompiledTemplate(condition.value), CompiledTemplate(condition.other)
        equal = condition.comparison is Comparison.EQUAL
        return lambda ex: (left.evaluate(ex) == right.evaluate(ex)) is equal
    if isinstance(condition, Matches):
        subject = CompiledTemplate(condition.value)
        pattern, source, negative = condition.pattern, condition.source, condition.negative
        return lambda ex: (_match(ex, pattern, source, subject.evaluate(ex), log) is not None) is not negative
    assert isinstance(condition, TestFile)
    path = CompiledTemplate(condition.path)
    test, negative = condition.test, condition.negative
    return lambda ex: file_test(path.evaluate(ex), test) is not negative


def _true(value: str) -> bool:
    return bool(value) and value != "0"


def file_test(path: str, test: FileTest) -> bool:
    """`-f`, `-d`, `-e`, `-x` on `path` (following links, as nginx's open file cache does)."""
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return False
    if test is FileTest.PLAIN:
        return stat.S_ISREG(info.st_mode)
    if test is FileTest.DIRECTORY:
        return stat.S_ISDIR(info.st_mode)
    if test is FileTest.EXECUTABLE:
        return bool(info.st_mode & stat.S_IXUSR)
    return True


_HEX: Final = "0123456789abcdef"


def unescape_redirect(text: str) -> str:
    """ngx_unescape_uri with NGX_UNESCAPE_REDIRECT, as nginx applies it to a rewritten redirect: `%XX` is
    decoded when it gives a printable character above `%`, kept as is otherwise; decoding stops at the
    first `?` (what follows is kept as written); a `%` not followed by two hex digits is dropped with
    what nginx drops."""
    out: list[str] = []
    i, size = 0, len(text)
    while i < size:
        ch = text[i]
        if ch == "?":
            out.append(text[i:])
            return "".join(out)
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        first = text[i + 1 : i + 2].lower()
        if not first:
            return "".join(out)
        if first not in _HEX:
            out.append(text[i + 1])  # "the invalid quoted character": the `%` is lost
            i += 2
            continue
        second = text[i + 2 : i + 3].lower()
        if not second:
            return "".join(out)
        if second not in _HEX:
            i += 3  # the `%`, the first digit and this character are lost
            continue
        decoded = chr(int(first + second, 16))
        if decoded == "?" and second.isalpha():
            out.append(decoded)
            out.append(text[i + 3 :])
            return "".join(out)
        out.append(decoded if "%" < decoded < "\x7f" else text[i : i + 3])
        i += 3
    return "".join(out)
