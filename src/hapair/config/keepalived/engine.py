"""The keyword engine: keepalived's `process_stream` and `alloc_value_block` (lib/parser.c).

A configuration is a tree of keywords. Each keyword has a handler called with the words of its line, and a
block keyword has a sub-table read until its closing `}`. Value blocks (`virtual_ipaddress { … }`) are read
line by line by the handler itself, one item per line.

One deliberate difference: after an unknown keyword keepalived 2.2.7 does not skip the `{ … }` block that
follows it, so the block's `}` closes the *enclosing* block and the rest is read at the wrong level. hapair
skips the unknown keyword's whole block and carries on where it should (docs/keepalived-differences.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar, cast, overload

from . import numbers
from .diagnostics import MissingParameterError, Reporting, Severity
from .model.place import Place
from .words import CommandSyntaxError, UnmatchedQuoteError, split_command, split_words

if TYPE_CHECKING:
    from .host import Host
    from .model import KeepalivedConfig
    from .reader import Reader
    from .session import Session

BOB, EOB = "{", "}"
State = TypeVar("State")
Params = ParamSpec("Params")
Result = TypeVar("Result")


class Words(Sequence[str]):
    """The words of one configuration line; `arg(i)` is a parameter the keyword cannot do without."""

    __slots__ = ("_words",)

    def __init__(self, words: Iterable[str]) -> None:
        self._words = tuple(words)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return self._words[index]

    def __len__(self) -> int:
        return len(self._words)

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def __repr__(self) -> str:
        return f"Words{self._words!r}"

    def arg(self, index: int) -> str:
        """keepalived's `strvec_slot`: a missing word stops the whole configuration read (exit status 2)."""
        if index < len(self._words):
            return self._words[index]
        if index > 0 and index - 1 < len(self._words):
            message = (
                f"*** Configuration line starting `{self._words[0]}` is missing a parameter after keyword "
                f"`{self._words[index - 1]}` at word position {index + 1}"
            )
        else:
            first = self._words[0] if self._words else "***MISSING ***"
            message = f"*** Configuration line starting `{first}` is missing a parameter at word position "
            message += str(index + 1)
        raise MissingParameterError(message)


Handler = Callable[["Parser", Words], None]
CloseHandler = Callable[["Parser"], None]


@dataclass
class Keyword:
    name: str
    handler: Handler | None = None
    sub: KeywordTable | None = None
    close: CloseHandler | None = None


@dataclass
class KeywordTable:
    """Keywords in the order keepalived installs them; the first of a name wins, as in keepalived."""

    keywords: dict[str, Keyword] = field(default_factory=dict)

    def add(self, keyword: Keyword) -> Keyword:
        return self.keywords.setdefault(keyword.name, keyword)

    def get(self, name: str) -> Keyword | None:
        return self.keywords.get(name)


@dataclass
class RootKeyword:
    """A top-level keyword and the process that reads it (global, vrrp, check, bfd, track_file)."""

    keyword: Keyword
    group: str


@dataclass(frozen=True)
class DeferredRoots:
    """Root keywords of one group whose tables `load` builds (importing their module) only when a reading
    with the group active meets one of `names`: a file that does not use them does not pay for them."""

    group: str
    names: tuple[str, ...]
    load: Callable[[], list[Keyword]]


class ReadingState:
    """Base of a reading's own state whose methods are keyword handlers: `bind` makes a handler of one, run
    on the object this reading keeps (`Parser.reading_state`), so that keyword tables hold no state."""

    @classmethod
    def bind(
        cls: type[State], method: Callable[Concatenate[State, Parser, Params], Result]
    ) -> Callable[Concatenate[Parser, Params], Result]:
        """`method` run on the reading's object: a keyword handler, close handler or target."""

        def bound(parser: Parser, /, *args: Params.args, **kwargs: Params.kwargs) -> Result:
            return method(parser.reading_state(cls), parser, *args, **kwargs)

        return bound


class Parser(Reporting):
    """One reading of the configuration, with the keywords of some groups active.

    Handlers build `config`, look at the machine through `host`, report through `error`/`warn`/`log`, read
    numbers with `read_int`/`read_unsigned`/`read_timer`… and value blocks with `value_block`. `session`
    holds what both readings of one configuration share, `reading_state` what only this one keeps.
    """

    def __init__(
        self,
        reader: Reader,
        roots: list[RootKeyword],
        active: set[str],
        session: Session,
        deferred: Sequence[DeferredRoots] = (),
    ) -> None:
        self.reader = reader
        self.table = KeywordTable()
        self.active_roots: set[str] = set()
        self._active = active
        self._deferred: dict[str, DeferredRoots] = {}
        self._add_roots(roots)
        for group in deferred:
            if group.group in active:
                self._deferred.update(dict.fromkeys(group.names, group))
            else:  # an inactive group's roots are only skipped: their names are enough
                self._add_roots(RootKeyword(Keyword(name), group.group) for name in group.names)
        self.session = session
        self._states: dict[type, object] = {}
        self.raw_line = ""
        self._kw_level = 0
        self._skip_sublevel = 0
        self._skip_unknown = 0
        self._refused_block = False  # the skip is of a block whose keyword is known but was refused

    def _add_roots(self, roots: Iterable[RootKeyword]) -> None:
        for root in roots:
            if self.table.add(root.keyword) is root.keyword and root.group in self._active:
                self.active_roots.add(root.keyword.name)

    def _root(self, name: str) -> Keyword | None:
        """The root keyword `name`, its deferred group's tables built when one of them is first met."""
        group = self._deferred.get(name)
        if group is not None:
            for other in group.names:
                del self._deferred[other]
            self._add_roots(RootKeyword(keyword, group.group) for keyword in group.load())
        return self.table.get(name)

    @property
    def config(self) -> KeepalivedConfig:
        return self.session.config

    @property
    def host(self) -> Host:
        return self.session.host

    @property
    def config_test(self) -> bool:
        return self.session.config_test

    def reading_state(self, kind: type[State]) -> State:
        """This reading's `kind` object, made on first use: what a keepalived process keeps in static
        variables while it reads (the block being read, counters, caches)."""
        state = self._states.get(kind)
        if state is None:
            state = self._states[kind] = kind()
        return cast(State, state)

    # -- reporting -----------------------------------------------------------------------------------
    def _emit(self, severity: Severity, message: str, *, log: bool) -> None:
        self.reader.report(severity, message, log=log)

    def place(self) -> Place | None:
        """The file and line being read, for objects to remember where they were defined."""
        file, line = self.reader.source.location()
        return Place(file, line) if file is not None and line else None

    def report_command_error(self, err: CommandSyntaxError) -> None:
        message, is_config_error = err.args
        if is_config_error:
            self.report(Severity.UNMATCHED_QUOTE, message)
        else:
            self.log(message)

    # -- numbers (keepalived's read_* with this reading's reporter and -t mode) ------------------------
    def read_int(
        self, text: str, low: int, high: int, *, lenient: bool = False, base: int = 10
    ) -> int | None:
        return numbers.read_int(
            text, low, high, self.report, lenient=lenient, config_test=self.config_test, base=base
        )

    def read_unsigned(
        self, text: str, low: int, high: int, *, lenient: bool = False, base: int = 10
    ) -> int | None:
        return numbers.read_unsigned(
            text, low, high, self.report, lenient=lenient, config_test=self.config_test, base=base
        )

    def read_unsigned64(self, text: str, low: int, high: int, *, lenient: bool = False) -> int | None:
        return numbers.read_unsigned64(
            text, low, high, self.report, lenient=lenient, config_test=self.config_test
        )

    def read_decimal(
        self, text: str, low: int, high: int, shift: int, *, lenient: bool = False
    ) -> int | None:
        return numbers.read_decimal(
            text, low, high, shift, self.report, lenient=lenient, config_test=self.config_test
        )

    def read_timer(self, text: str, low: int, high: int, *, lenient: bool = False) -> int | None:
        """Seconds with up to 6 decimals, in microseconds; `high` 0 means keepalived's maximum."""
        return numbers.read_timer(text, low, high, self.report, lenient=lenient, config_test=self.config_test)

    @staticmethod
    def true_false(text: str) -> bool | None:
        return numbers.check_true_false(text)

    # -- words -----------------------------------------------------------------------------------------
    def split(self, line: str) -> Words:
        try:
            return Words(split_words(line))
        except UnmatchedQuoteError as err:
            self.report(Severity.UNMATCHED_QUOTE, err.args[0])
            return Words(err.args[1])

    def command_words(self) -> list[str] | None:
        """The current raw line split shell-like (quotes, escapes), for script and notify commands."""
        try:
            return split_command(self.raw_line) or None
        except CommandSyntaxError as err:
            self.report_command_error(err)
            return None

    # -- the stream ----------------------------------------------------------------------------------
    def run(self) -> None:
        self._process_stream(self.table, need_bob=False, top=True)

    def skip_block(self, need_block_start: bool = True) -> None:
        """Skip the rest of the current block (keepalived's `skip_block`)."""
        self._skip_sublevel = -1 if need_block_start else 1

    def _skipping(self, words: Words) -> tuple[bool, bool]:
        """Handle a line while skipping; returns (line consumed, the skipped block has closed)."""
        if self._skip_sublevel == -1:
            if words[0] == BOB:
                self._skip_sublevel = 1
                return True, False
            self._skip_sublevel = 0
        if not self._skip_sublevel:
            return False, False
        word = words[0]
        for word in words:
            if word == BOB:
                self._skip_sublevel += 1
            elif word == EOB:
                self._skip_sublevel -= 1
                if not self._skip_sublevel:
                    break
        return True, word == EOB and not self._skip_sublevel and self._kw_level > 0

    def _skipping_unknown(self, words: Words) -> bool:
        """hapair's skip of an unknown keyword's block: unlike `_skipping`, never ends the enclosing one."""
        if self._skip_unknown == -1:
            if words[0] != BOB:
                self._skip_unknown = 0
                if self._refused_block:
                    self.report(Severity.MISSING_BOB, "Missing '{' at beginning of configuration block")
                return False
            self._skip_unknown = 1
            return True
        if not self._skip_unknown:
            return False
        for word in words:
            if word == BOB:
                self._skip_unknown += 1
            elif word == EOB:
                self._skip_unknown -= 1
                if not self._skip_unknown:
                    break
        return True

    def _process_stream(self, table: KeywordTable, *, need_bob: bool, top: bool = False) -> bool:
        while (line := self.reader.read_line()) is not None:
            words = self.split(line)
            if not words:
                continue
            consumed, closed = self._skipping(words)
            if closed:
                return True
            if consumed or self._skipping_unknown(words):
                continue
            first = words[0]
            if need_bob:
                need_bob = False
                if first == BOB and self._kw_level > 0:
                    continue
                self.report(Severity.MISSING_BOB, "Missing '{' at beginning of configuration block")
            elif first == BOB:
                self.report(Severity.UNEXPECTED_BOB, "Unexpected '{' - ignoring")
                continue
            if first == EOB and self._kw_level > 0:
                return False
            keyword = self._root(first) if top else table.get(first)
            if keyword is None:
                self.report(Severity.UNKNOWN_KEYWORD, f"Unknown keyword '{first}'")
                self._skip_unknown = 1 if words[-1] == BOB else -1
                self._refused_block = False
                continue
            self._run_keyword(keyword, words, line, active=not top or first in self.active_roots)
        # The end of the configuration while a block is being skipped: it must not be closed (keepalived
        # runs its close handler on an object it never made, and crashes)
        return self._skip_sublevel != 0

    def _run_keyword(self, keyword: Keyword, words: Words, line: str, *, active: bool) -> None:
        if not active:
            # keepalived installs no sub-keywords for an inactive root: its block is skipped in this stream
            self._skip_sublevel = 1 if words[-1] == BOB else -1
            return
        bob_needed = False
        if keyword.sub is not None:
            if words[-1] == BOB:
                words = Words(words[:-1])
            else:
                bob_needed = True
        if keyword.handler is not None:
            self.raw_line = line
            keyword.handler(self, words)
        if keyword.sub is None:
            return
        if self._skip_sublevel == -1:
            # The handler refused its block (skip_block) and made no object for the block's keywords.
            # keepalived, when no `{` follows, reads the next lines as the block's keywords anyway, on
            # whatever object came before, and may crash; hapair skips a block if one follows and
            # otherwise reads on at this level.
            self._skip_sublevel = 0
            self._skip_unknown = -1 if bob_needed else 1
            self._refused_block = True
            return
        self._kw_level += 1
        skipped = self._process_stream(keyword.sub, need_bob=bob_needed)
        self._kw_level -= 1
        if not skipped and keyword.close is not None:
            keyword.close(self)

    # -- value blocks ----------------------------------------------------------------------------------
    def value_block(self, words: Words, item: Callable[[Words], None], *, unnamed: bool = False) -> None:
        """Read `KEYWORD { item \\n item … }`, calling `item` with the words of each line. `unnamed`: the
        block's first word is not its name (keepalived passes no name, and its messages that would name the
        block stop the read as a missing parameter)."""
        need_bob = True
        first: Words | None = None
        had_eob = False
        if len(words) > 1:
            if words[1] == BOB:
                need_bob = False
                if len(words) > 2:
                    first = Words(words[2:])
                    if first[-1] == EOB:
                        first = Words(first[:-1])
                        had_eob = True
            else:
                self._block_name(words, unnamed)
                self.error(f"Block {words[0]} has extra parameters {words[1]} ...")
        while True:
            if first is not None:
                entry, first = first, None
            else:
                line = self.reader.read_line()
                if line is None:
                    return
                entry = self.split(line)
                if not entry:
                    continue
                if need_bob:
                    need_bob = False
                    if entry[0] == BOB:
                        if len(entry) == 1:
                            continue
                        entry = Words(entry[1:])
                    else:
                        self.log(f"'{{' missing from beginning of block {self._block_name(words, unnamed)}")
                if entry[-1] == EOB:
                    if len(entry) == 1:
                        return
                    had_eob = True
                    entry = Words(entry[:-1])
            if entry:
                item(entry)
            if had_eob:
                return

    @staticmethod
    def _block_name(words: Words, unnamed: bool) -> str:
        return Words(()).arg(0) if unnamed else words[0]

    def value_list(self, words: Words) -> list[str]:
        """keepalived's `read_value_block`: every word of every line of the block, in order."""
        values: list[str] = []
        self.value_block(words, values.extend)
        return values
