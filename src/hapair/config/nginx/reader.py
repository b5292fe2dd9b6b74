"""nginx's configuration parser (ngx_conf_parse, ngx_conf_handler, ngx_conf_include): files and blocks,
and each directive handed to its handler once nginx's checks pass (known, allowed here, terminated as it
must be, right number of arguments). A directive nginx knows and hapair does not implement stops the read
with an error naming it."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Mapping

from .context import Block, Directive, Handler
from .errors import ConfigError, Message, Severity, os_error_text
from .flags import CONF_BLOCK, ModuleKind, takes
from .known import DIRECTIVES, KnownDirective
from .lexer import End, Lexer
from .model.place import Place
from .paths import Paths

KNOWN: dict[str, tuple[KnownDirective, ...]] = {}
for _known in DIRECTIVES:
    KNOWN[_known.name] = (*KNOWN.get(_known.name, ()), _known)

_GLOB_CHARS = "*?["
LineHandler = Callable[[list[str], Place], None]
# nginx nests blocks and includes as deep as its C stack allows; hapair stops at this depth
MAX_DEPTH = 100


class Parser:
    def __init__(self, paths: Paths, handlers: Mapping[tuple[str, str], Handler]) -> None:
        self._paths = paths
        self._handlers = handlers
        self._lexer: Lexer | None = None
        self._depth = 0
        self.files: list[str] = []
        self.sources: dict[str, bytes] = {}  # each file's bytes, as read (nginx -T dumps them)
        self.warnings: list[Message] = []

    def here(self) -> Place:
        if self._lexer is None:
            raise LookupError("no file is being read")
        return self._lexer.here()

    def warn(self, text: str, place: Place | None) -> None:
        self.warnings.append(Message(Severity.WARN, text, place))

    def parse_file(self, path: str, block: Block) -> Place:
        """Read a whole file in `block` (ngx_conf_parse with a file name); returns where it ended."""
        origin = self._lexer.here() if self._lexer is not None else None
        data = _read_file(path, origin)
        self.sources.setdefault(path, data)
        self.files.append(path)
        return self._read_all(Lexer(data, path), block)

    def parse_parameters(self, text: str, block: Block) -> None:
        """Read the directives given with `-g` (ngx_conf_param): no blocks, places "in command line"."""
        self._read_all(Lexer.of_parameter(text), block)

    def _read_all(self, lexer: Lexer, block: Block) -> Place:
        previous, self._lexer = self._lexer, lexer
        try:
            self._nested(block, in_block=False)
        finally:
            self._lexer = previous
        return lexer.here()

    def parse_block(self, block: Block) -> None:
        """Read a block's directives up to its `}` (ngx_conf_parse without a file name)."""
        self._nested(block, in_block=True)

    def parse_lines(self, line: LineHandler) -> None:
        """Read a block whose lines are not directives (`types`, `map`...) up to its `}`: each line's
        words go to `line` (nginx's cf->handler); a `{` in it is an error."""
        lexer = self._lexer
        if lexer is None:
            raise LookupError("no file is being read")
        while True:
            end, words = lexer.read()
            if end is End.BLOCK_DONE:
                return
            if end is End.FILE_DONE:
                raise ConfigError('unexpected end of file, expecting "}"', lexer.here())
            if end is End.BLOCK_START:
                raise ConfigError('unexpected "{"', lexer.here())
            line(words, lexer.here())

    def include(self, pattern: str, line: LineHandler) -> None:
        """`include` inside a block of lines (`map`, `geo`, `split_clients`): the files' lines go to
        `line` as the block's own would."""
        path = self._paths.from_conf_prefix(pattern)
        paths = sorted(glob.glob(path)) if any(ch in path for ch in _GLOB_CHARS) else [path]
        for name in paths:
            origin = self._lexer.here() if self._lexer is not None else None
            lexer = Lexer(_read_file(name, origin), name)
            previous, self._lexer = self._lexer, lexer
            self.files.append(name)
            try:
                while True:
                    end, words = lexer.read()
                    if end is End.FILE_DONE:
                        break
                    if end is End.BLOCK_DONE:
                        raise ConfigError('unexpected "}"', lexer.here())
                    if end is End.BLOCK_START:
                        raise ConfigError('unexpected "{"', lexer.here())
                    line(words, lexer.here())
            finally:
                self._lexer = previous

    def _nested(self, block: Block, *, in_block: bool) -> None:
        if self._depth == MAX_DEPTH:
            raise ConfigError(
                f"hapair does not support nesting blocks and includes deeper than {MAX_DEPTH}", self.here()
            )
        self._depth += 1
        try:
            self._parse(block, in_block=in_block)
        finally:
            self._depth -= 1

    def _parse(self, block: Block, *, in_block: bool) -> None:
        lexer = self._lexer
        if lexer is None:
            raise LookupError("no file is being read")
        while True:
            end, words = lexer.read()
            if end is End.BLOCK_DONE:
                if not in_block:
                    raise ConfigError('unexpected "}"', lexer.here())
                return
            if end is End.FILE_DONE:
                if in_block:
                    raise ConfigError('unexpected end of file, expecting "}"', lexer.here())
                return
            if end is End.BLOCK_START and lexer.parameter:
                raise ConfigError("block directives are not supported in -g option", lexer.here())
            self._handle(block, words, end)

    def _handle(self, block: Block, words: list[str], end: End) -> None:
        """ngx_conf_handler: the first known directive of that name allowed in this block handles it."""
        name, args = words[0], tuple(words[1:])
        place = self.here()
        for known in KNOWN.get(name, ()):
            if known.kind not in (ModuleKind.CONF, block.kind) or not known.flags & block.cmd_type:
                continue
            if not known.flags & CONF_BLOCK and end is not End.STATEMENT:
                raise ConfigError(f'directive "{name}" is not terminated by ";"', place)
            if known.flags & CONF_BLOCK and end is not End.BLOCK_START:
                raise ConfigError(f'directive "{name}" has no opening "{{"', place)
            if not takes(known.flags, len(args)):
                raise ConfigError(f'invalid number of arguments in "{name}" directive', place)
            directive = Directive(name, args, place)
            if known.kind is ModuleKind.CONF:
                self._include(block, directive)
                return
            handler = self._handlers.get((known.module, name))
            if handler is None:
                raise ConfigError(f'hapair does not support the "{name}" directive', place)
            handler(block, directive, self)
            return
        if name in KNOWN:
            raise ConfigError(f'"{name}" directive is not allowed here', place)
        raise ConfigError(f'unknown directive "{name}"', place)

    def _include(self, block: Block, directive: Directive) -> None:
        """ngx_conf_include: relative to the configuration prefix; a pattern includes its matches in
        sorted order, and none is not an error."""
        path = self._paths.from_conf_prefix(directive.args[0])
        if not any(ch in path for ch in _GLOB_CHARS):
            self.parse_file(path, block)
            return
        for match in sorted(glob.glob(path)):
            self.parse_file(match, block)


def _read_file(path: str, origin: Place | None) -> bytes:
    """The file's bytes as nginx reads them: as many as its size says (a device reads as empty)."""
    try:
        with open(path, "rb") as conf:
            size = os.fstat(conf.fileno()).st_size
            data = conf.read(size)
    except IsADirectoryError as exc:
        raise ConfigError(
            f'pread() "{path}" failed {os_error_text(exc)}', None, origin, Severity.CRIT
        ) from exc
    except OSError as exc:
        raise ConfigError(f'open() "{path}" failed {os_error_text(exc)}', origin) from exc
    if len(data) != size:
        raise ConfigError(f"pread() returned only {len(data)} bytes instead of {size}", origin)
    return data
