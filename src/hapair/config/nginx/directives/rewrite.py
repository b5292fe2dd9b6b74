"""The rewrite module: `rewrite`, `return`, `break`, `if`, `set`, `rewrite_log`,
`uninitialized_variable_warn` (ngx_http_rewrite_module.c), with nginx's checks and messages.

The directives of a server or location make one program, in their order (`state.rewrite`); an `if` adds
its condition there and its own directives to a nested program. An `if` in a location is a location
without a name in nginx: its settings (`proxy_pass`, `add_header`...) come from a `LocationState` of its
own, read inside the enclosing location's."""

from __future__ import annotations

from ..context import Block, Directive, Handler, Reading
from ..fields import REWRITE_LOG, UNINITIALIZED_VARIABLE_WARN
from ..flags import HTTP_LIF_CONF, HTTP_SIF_CONF, HTTP_SRV_CONF, ModuleKind
from ..model.http import LocationMatch
from ..model.place import Place
from ..model.rewrite import (
    Break,
    Compare,
    Comparison,
    Condition,
    FileTest,
    IsTrue,
    Matches,
    Return,
    Rewrite,
    RewriteFlag,
    SetVariable,
    TestFile,
)
from ..settings import Level
from ..state import IfState, LocationState, RewriteProgram
from ..variables import HTTP_CHANGEABLE, VariableUses, compile_template
from . import setters
from .regex import compile_regex

_REDIRECT_PREFIXES = ("http://", "https://", "$scheme")
_FLAGS = {
    "last": RewriteFlag.LAST,
    "break": RewriteFlag.BREAK,
    "redirect": RewriteFlag.REDIRECT,
    "permanent": RewriteFlag.PERMANENT,
}
_REGEX_OPERATORS = {"~": (False, False), "~*": (True, False), "!~": (False, True), "!~*": (True, True)}
_FILE_TESTS = {test.value: test for test in FileTest}
_SETTABLE = frozenset({"args"})  # of those, the ones hapair's data plane lets `set` change


def _program(block: Block) -> RewriteProgram:
    """Where this block's rewrite directives go: its location's (an `if` is one) or its server's."""
    if block.location is not None:
        return block.location.rewrite
    assert block.server is not None
    return block.server.rewrite


def _uses(block: Block) -> VariableUses:
    assert block.http is not None
    return block.http.variables


def rewrite(block: Block, directive: Directive, reading: Reading) -> None:
    source, replacement = directive.args[0], directive.args[1]
    if not replacement:
        raise directive.error("empty replacement")
    pattern = compile_regex(source, caseless=False, place=directive.place)
    uses = _uses(block)
    for group in pattern.groupindex:
        uses.define(group)
    add_args = not replacement.endswith("?")
    if not add_args:
        replacement = replacement[:-1]
    flag = RewriteFlag.NONE
    redirect = 302 if replacement.startswith(_REDIRECT_PREFIXES) else 0
    if len(directive.args) == 3:
        found = _FLAGS.get(directive.args[2])
        if found is None:
            raise directive.error(f'invalid parameter "{directive.args[2]}"')
        flag = found
        if flag is RewriteFlag.REDIRECT:
            redirect = 302
        elif flag is RewriteFlag.PERMANENT:
            redirect = 301
    template = compile_template(replacement, uses, directive.place, directive.place)
    _program(block).append(Rewrite(pattern, source, template, flag, redirect, add_args, directive.place))


def return_(block: Block, directive: Directive, reading: Reading) -> None:
    args = directive.args
    code = args[0]
    text: str | None = args[1] if len(args) == 2 else None
    if code.isascii() and code.isdigit():
        status = int(code)
        if status > 999:
            raise directive.error(f'invalid return code "{code}"')
    elif len(args) == 1 and code.startswith(_REDIRECT_PREFIXES):
        status, text = 302, code
    else:
        raise directive.error(f'invalid return code "{code}"')
    template = (
        None if text is None else compile_template(text, _uses(block), directive.place, directive.place)
    )
    _program(block).append(Return(status, template, directive.place))


def break_(block: Block, directive: Directive, reading: Reading) -> None:
    _program(block).append(Break(directive.place))


def set_(block: Block, directive: Directive, reading: Reading) -> None:
    target, value = directive.args
    if not target.startswith("$"):
        raise directive.error(f'invalid variable name "{target}"')
    name = target[1:].lower()
    if not name:
        raise directive.error(f'invalid variable name "{target}"')
    uses = _uses(block)
    if uses.catalog.knows(name) and not name.startswith(uses.catalog.known_prefixes):
        if name not in HTTP_CHANGEABLE:
            raise directive.error(f'the duplicate "{name}" variable')
        if name not in _SETTABLE:
            raise directive.unsupported(f'setting the "${name}" variable')
    uses.define(name)
    template = compile_template(value, uses, directive.place, directive.place)
    _program(block).append(SetVariable(name, template, directive.place))


def if_(block: Block, directive: Directive, reading: Reading) -> None:
    """`if (condition) { ... }`: in a server, only rewrite directives; in a location, a nameless
    location whose settings apply once the condition holds."""
    condition = _condition(block, directive)
    in_server = block.cmd_type == HTTP_SRV_CONF
    enclosing = block.location if block.location is not None else block.server
    assert enclosing is not None
    name = block.location.name if block.location is not None else ""
    state = LocationState(directive.place, LocationMatch.IF, name, None, Level(enclosing.level))
    state.parent = block.location
    _program(block).append(IfState(condition, state, in_server, directive.place))
    if block.location is not None:
        block.location.locations.append(state)
    cmd_type = HTTP_SIF_CONF if in_server else HTTP_LIF_CONF
    reading.parse_block(block.inner(ModuleKind.HTTP, cmd_type, location=state))


def _condition(block: Block, directive: Directive) -> Condition:
    """ngx_http_rewrite_if_condition: `(` and `)` may stand alone or stick to the first and last words."""
    words = list(directive.args)
    if not words[0].startswith("("):
        raise directive.error(f'invalid condition "{words[0]}"')
    if words[0] == "(":
        words.pop(0)
    else:
        words[0] = words[0][1:]
    if not words or not words[-1].endswith(")"):
        raise directive.error(f'invalid condition "{directive.args[-1]}"')
    if words[-1] == ")":
        words.pop()
    else:
        words[-1] = words[-1][:-1]
    if not words:
        raise directive.error('invalid condition "("')
    first = words[0]
    uses = _uses(block)
    place = directive.place
    if len(first) > 1 and first.startswith("$"):
        return _variable_condition(directive, words, uses, place)
    if (len(first) == 2 and first[0] == "-") or (len(first) == 3 and first.startswith("!-")):
        if len(words) != 2:
            raise directive.error(f'invalid condition "{first}"')
        test = _FILE_TESTS.get(first[-1])
        if test is None:
            raise directive.error(f'invalid condition "{first}"')
        path = compile_template(words[1], uses, place, place)
        return TestFile(path, test, first.startswith("!"))
    raise directive.error(f'invalid condition "{first}"')


def _variable_condition(
    directive: Directive, words: list[str], uses: VariableUses, place: Place
) -> Condition:
    first = words[0]
    if len(words) not in (1, 3):
        raise directive.error(f'invalid condition "{first}"')
    value = compile_template(first, uses, place, place)
    if len(words) == 1:
        return IsTrue(value)
    operator, last = words[1], words[2]
    if operator in ("=", "!="):
        comparison = Comparison.EQUAL if operator == "=" else Comparison.NOT_EQUAL
        return Compare(value, comparison, compile_template(last, uses, place, place))
    if operator in _REGEX_OPERATORS:
        caseless, negative = _REGEX_OPERATORS[operator]
        pattern = compile_regex(last, caseless=caseless, place=place)
        for group in pattern.groupindex:
            uses.define(group)
        return Matches(value, pattern, last, negative)
    raise directive.error(f'unexpected "{operator}" in condition')


HANDLERS: dict[tuple[str, str], Handler] = {
    ("ngx_http_rewrite_module", "rewrite"): rewrite,
    ("ngx_http_rewrite_module", "return"): return_,
    ("ngx_http_rewrite_module", "break"): break_,
    ("ngx_http_rewrite_module", "if"): if_,
    ("ngx_http_rewrite_module", "set"): set_,
    ("ngx_http_rewrite_module", "rewrite_log"): setters.flag(REWRITE_LOG),
    ("ngx_http_rewrite_module", "uninitialized_variable_warn"): setters.flag(UNINITIALIZED_VARIABLE_WARN),
}
