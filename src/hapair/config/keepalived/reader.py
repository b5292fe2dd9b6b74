"""keepalived's line reader (lib/parser.c `read_line`): from files to the logical lines keywords read.

It strips comments (`decomment`), follows `include`s, defines and substitutes `$NAME` parameters, keeps or
drops `@id` lines, runs `~SEQ`/`~LST` generators and splits lines at `{` and `}`.

keepalived reads a configuration twice: the parent process reads the files and writes a comment-stripped copy
with `# file` / `!` markers around each file, and the VRRP and checker processes read that copy, decommenting
it again. `FileSource` is the first reading, `CopySource` the second; `Reader` does the rest for both.
Every message is reported with the file and line it came from.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import files
from .diagnostics import Severity
from .numbers import strtol

if TYPE_CHECKING:
    import random

MAXBUF = 1024
DEF_LINE_END = "\n"
INCLUDE = 0
INCLUDE_R = 0x01
INCLUDE_M = 0x02
INCLUDE_W = 0x04
INCLUDE_B = 0x08
INCLUDE_ALL = INCLUDE_R | INCLUDE_M | INCLUDE_W | INCLUDE_B
_INCLUDE_TYPES = {
    "r": INCLUDE_R,
    "a": INCLUDE_ALL,
    "w": INCLUDE_R | INCLUDE_M | INCLUDE_W,
    "m": INCLUDE_R | INCLUDE_M,
    "b": INCLUDE_R | INCLUDE_B,
}
# keepalived loops for ever on a self-referencing parameter ($A=$A); hapair stops after this many.
MAX_SUBSTITUTIONS = 1000
# A multiline parameter that expands to itself loops for ever too, one line at a time: hapair also stops
# substituting for the rest of a reading after this many substitutions in all.
MAX_TOTAL_SUBSTITUTIONS = 1_000_000
# keepalived generates any number of lines from one ~SEQ; hapair refuses more than this.
MAX_SEQUENCE = 100_000

Report = Callable[[Severity, str, str | None, int | None, bool], None]


def decomment(text: str, report: Callable[[str], None]) -> str:
    """Strip leading blanks, a `#`/`!` comment outside `"…"`, and trailing blanks; `\\#` and `\\!` outside
    quotes lose their backslash; a trailing `\\` is kept (with the blanks before it removed)."""
    text = text.lstrip(" \t")
    out: list[str] = []
    quote = cont = False
    skip: int | None = None
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == '"':
            if skip is None:
                quote = not quote
        elif char == "\\":
            if pos + 1 >= len(text):
                cont = True
                break
            if not quote and text[pos + 1] in "#!":
                out.append(text[pos + 1])
            else:
                out.append(text[pos : pos + 2])
            pos += 2
            continue
        elif char in "#!" and not quote and skip is None:
            skip = len(out)
        out.append(char)
        pos += 1
    if quote:
        report(f"Unterminated quote '{''.join(out)}'")
    result = "".join(out[:skip] if skip is not None else out).rstrip(" \t")
    return result + "\\" if cont else result


@dataclass(frozen=True, slots=True)
class Piece:
    """What one `fgets(buf, 1024)` call returns, without its line end: over-long lines come in 1023-byte
    pieces, and a piece ends at its first NUL byte. `starts_line` is False for the later pieces of a line
    (keepalived counts a line when a piece ends in a newline; hapair counts physical lines, so a last line
    without a newline, or a long line, keeps its own number)."""

    text: str
    starts_line: bool


def physical_lines(data: bytes) -> list[Piece]:
    pieces: list[Piece] = []
    for line in data.split(b"\n"):
        for start in range(0, max(len(line), 1), MAXBUF - 1):
            chunk = line[start : start + MAXBUF - 1].split(b"\0", 1)[0].rstrip(b"\r")
            pieces.append(Piece(chunk.decode("utf-8", "surrogateescape"), start == 0))
    if data.endswith(b"\n") or not data:
        pieces.pop()
    return pieces


CONTINUATION = "\0"  # marks, in the copy, a piece that continues the previous physical line


@dataclass
class OpenFile:
    lines: list[Piece]
    display_name: str
    cwd: str
    real_path: str = ""
    line_no: int = 0
    pos: int = 0


@dataclass
class IncludeEntry:
    """One `include` (or the main file): a glob's matches, read one after the other."""

    paths: list[str]
    include_type: int
    saved_include_check: int
    cwd_before: str
    next_path: int = 0
    file: OpenFile | None = None


class FileSource:
    """Physical lines from the configuration files, following includes; records keepalived's copy."""

    def __init__(self, main_file: str, cwd: str, report: Report) -> None:
        self._report = report
        self._stack: list[IncludeEntry] = []
        self.include_check = INCLUDE
        self.copy: list[str] = []
        self.fatal_error = False  # an include the include type or include_check requires could not be read
        self.continuation = ""  # what the copy puts before the current piece
        self.opened = self.open_glob(main_file, INCLUDE_R | INCLUDE_M | INCLUDE_W, cwd)
        self.matches = self._stack[0].paths if self._stack else []

    @property
    def cwd(self) -> str:
        top = self._current_file()
        return top.cwd if top else ""

    def _current_file(self) -> OpenFile | None:
        """The file being read: an include whose glob is still being opened has none yet."""
        return next((entry.file for entry in reversed(self._stack) if entry.file is not None), None)

    def location(self) -> tuple[str | None, int | None]:
        top = self._current_file()
        return (top.display_name, top.line_no) if top else (None, None)

    def file_error(self, error_type: int, message: str) -> None:
        """keepalived's `file_config_error`: fatal only if the include type or `include_check` asks."""
        include_type = self._stack[-1].include_type if self._stack else 0
        fatal = (self.include_check | include_type) & error_type
        self.fatal_error = self.fatal_error or bool(fatal)
        file, line = self.location()
        self._report(Severity.FILE_NOT_FOUND if fatal else Severity.OK, message, file, line, False)

    def open_glob(self, pattern: str, include_type: int, cwd: str) -> bool:
        entry = IncludeEntry([], include_type, self.include_check, cwd)
        self._stack.append(entry)
        found = files.find_files(pattern, cwd)
        if not found.paths:
            if found.missing:
                error = INCLUDE_B if files.has_brace(pattern) else INCLUDE_M
                self.file_error(error, f"Config files missing '{pattern}'.")
            elif found.wildcards and (self.include_check | include_type) & INCLUDE_W:
                self.file_error(INCLUDE_W, f"No config files matched '{pattern}'.")
            self._stack.pop()
            return False
        if found.missing:
            self.file_error(INCLUDE_B, f'Some config files missing: "{pattern}".')
            if (self.include_check | include_type) & INCLUDE_B:
                self._stack.pop()
                return False
        entry.paths = found.paths
        if not self._open_next(entry):
            self._stack.pop()
            return False
        return True

    def _open_next(self, entry: IncludeEntry) -> bool:
        while entry.next_path < len(entry.paths):
            path = entry.paths[entry.next_path]
            entry.next_path += 1
            if path.endswith("/"):
                self.file_error(INCLUDE_R, f"Configuration file '{path}' is a directory - skipping")
                continue
            if not files.regular_non_executable(path, entry.cwd_before):
                self.file_error(
                    INCLUDE_R, f"Configuration file '{path}' is not a regular non-executable file - skipping"
                )
                continue
            full_path = Path(entry.cwd_before) / path
            real_path = os.path.realpath(full_path)
            if self._being_read(real_path):
                # keepalived recurses until it runs out of file descriptors
                self.file_error(INCLUDE_R, f"Configuration file '{path}' includes itself - skipping")
                continue
            try:
                data = full_path.read_bytes()
            except OSError as err:
                message = f"Configuration file '{path}' open problem ({err.strerror}) - skipping"
                self.file_error(INCLUDE_R, message)
                continue
            self.copy.append(f"# {path}")
            directory = files.directory_of(path, entry.cwd_before)
            entry.file = OpenFile(physical_lines(data), path, directory, real_path)
            return True
        return False

    def _being_read(self, real_path: str) -> bool:
        return any(entry.file is not None and entry.file.real_path == real_path for entry in self._stack)

    def include(self, pattern: str, include_type: int) -> None:
        self.open_glob(pattern, include_type, self.cwd)

    def next_line(self) -> str | None:
        """The next piece of a physical line, without its line end; the copy marks continuations."""
        while self._stack:
            entry = self._stack[-1]
            file = entry.file
            assert file is not None
            if file.pos < len(file.lines):
                piece = file.lines[file.pos]
                file.pos += 1
                if piece.starts_line:
                    file.line_no += 1
                self.continuation = "" if piece.starts_line else CONTINUATION
                return piece.text
            self._end_file(entry)
        return None

    def _end_file(self, entry: IncludeEntry) -> None:
        self.copy.append("!")
        self.include_check = entry.saved_include_check
        # done with: the next match's problems belong to the include's line, and it may match again
        entry.file = None
        if self._open_next(entry):
            return
        self._stack.pop()


class CopySource:
    """Physical lines from the copy the first reading wrote, with its `# file` and `!` markers."""

    def __init__(self, copy: list[str], main_file: str, cwd: str) -> None:
        self._lines = copy
        self._pos = 0
        self._stack = [OpenFile([], main_file, cwd)]
        self.include_check = INCLUDE
        self.continuation = ""

    @property
    def cwd(self) -> str:
        return self._stack[-1].cwd

    def location(self) -> tuple[str | None, int | None]:
        top = self._stack[-1]
        return top.display_name, top.line_no

    def include(self, pattern: str, include_type: int) -> None:
        """Included files already appear in the copy, in place."""

    def next_line(self) -> str | None:
        while self._pos < len(self._lines):
            line = self._lines[self._pos]
            self._pos += 1
            if line.startswith("# "):
                path = line[2:]
                self._stack.append(OpenFile([], path, files.directory_of(path, self.cwd)))
                continue
            if line == "!":
                if len(self._stack) > 1:
                    self._stack.pop()
                continue
            if line.startswith(CONTINUATION):
                return line[1:]
            self._stack[-1].line_no += 1
            return line
        return None


Source = FileSource | CopySource


@dataclass
class Definition:
    name: str
    value: str = ""
    multiline: bool = False
    builtin: Callable[[Definition, str | None], str] | None = None
    max_params: int = 0


@dataclass
class Sequence:
    """A pending `~SEQ` or `~LST`: `text` is emitted once per set of values, with `names` set to them."""

    names: list[str]
    values: Iterator[list[str]]
    remaining: int
    text: str


@dataclass
class ReaderState:
    definitions: dict[str, Definition] = field(default_factory=dict)
    sequences: list[Sequence] = field(default_factory=list)
    multiline_rest: str | None = None
    multiline_stack: list[tuple[str, int]] = field(default_factory=list)
    multiline_seq_depth: int = 0
    defining: Definition | None = None
    residue: str | None = None
    block_depth: int = 0


class Reader:
    def __init__(
        self, source: Source, config_id: str | None, report: Report, *, copy: list[str] | None
    ) -> None:
        self.source = source
        self.config_id = config_id
        self._report_at = report
        self._copy = copy  # where the first reading records what the second will read
        self.state = ReaderState()
        self._line_substitutions = 0
        self._total_substitutions = 0
        self._rng: random.Random | None = None  # made by the first ${_RANDOM}: random is imported then
        self._seed: int | None = None  # (None: seeded from the system's randomness)
        self._add_builtins()

    def report(self, severity: Severity, message: str, *, log: bool = False) -> None:
        """Report at the current file and line; `log` marks what keepalived only logs (see Diagnostic)."""
        file, line = self.source.location()
        if not line:  # before a file's first line or after the last file: keepalived gives no place
            file = line = None
        self._report_at(severity, message, file, line, log)

    # -- built-in parameters -------------------------------------------------------------------------
    def _add_builtins(self) -> None:
        defs = self.state.definitions
        defs["_PWD"] = Definition("_PWD", builtin=lambda _d, _p: self.source.cwd)
        defs["_INSTANCE"] = Definition("_INSTANCE", builtin=lambda _d, _p: self.config_id or "")
        defs["_RANDOM"] = Definition("_RANDOM", builtin=self._random, max_params=2)
        defs["_HASH"] = Definition("_HASH", "#")
        defs["_BANG"] = Definition("_BANG", "!")

    def seed(self, seed: int) -> None:
        self._seed = seed
        self._rng = None

    def _random(self, _definition: Definition, params: str | None) -> str:
        low, high = 0, 32767
        if params:
            numbers = params.split()
            low = int(numbers[0])
            if len(numbers) > 1:
                high = int(numbers[1])
            if len(numbers) > 2:
                message = f"Too many parameters or extra text for ${{_RANDOM {params}}}"
                self.report(Severity.OK, message, log=True)
        if high < low:
            return str(low)
        if self._rng is None:
            import random  # noqa: PLC0415 (only for files that use ${_RANDOM})

            self._rng = random.Random(self._seed)
        return str(self._rng.randint(low, high))

    # -- the main loop ---------------------------------------------------------------------------------
    def read_line(self) -> str | None:
        """The next logical line, or None at the end of the configuration."""
        state = self.state
        while True:
            from_residue = state.residue is not None
            buf = self._next_raw()
            if buf is None:
                return None
            if state.defining is not None:
                self._continue_definition(buf)
                continue
            if not buf:
                continue
            if not from_residue:  # text after a brace counts with its line, or `${A}` could regrow for ever
                self._line_substitutions = 0
            buf = self._process(buf)
            if not buf or self._check_include(buf):
                continue
            return self._split_braces(buf)

    def _next_raw(self) -> str | None:
        state = self.state
        if state.residue is not None:
            buf, state.residue = state.residue, None
            return buf
        if state.sequences and len(state.sequences) > state.multiline_seq_depth:
            return self._next_sequence_line()
        if state.multiline_rest is not None:
            return self._next_multiline_line()
        return self._next_source_line()

    def _next_source_line(self) -> str | None:
        while True:
            text = self.source.next_line()
            if text is None:
                return None
            if not text and self.state.defining is not None:
                self._end_definition()
            if text:
                text = decomment(text, lambda msg: self.report(Severity.GENERAL_ERROR, msg))
            if self._copy is not None:
                self._copy.append(self.source.continuation + ("" if is_include(text) else text))
            if text:
                return text

    def _next_multiline_line(self) -> str:
        state = self.state
        assert state.multiline_rest is not None
        line, sep, rest = state.multiline_rest.partition(DEF_LINE_END)
        if sep:
            state.multiline_rest = rest
        elif state.multiline_stack:
            state.multiline_rest, state.multiline_seq_depth = state.multiline_stack.pop()
        else:
            state.multiline_rest = None
            state.multiline_seq_depth = 0
        return line

    def _next_sequence_line(self) -> str:
        sequence = self.state.sequences[-1]
        for name, value in zip(sequence.names, next(sequence.values), strict=True):
            self._set_definition(name, value)
        sequence.remaining -= 1
        if not sequence.remaining:
            self.state.sequences.pop()
        return sequence.text

    # -- $NAME= definitions ---------------------------------------------------------------------------
    def _set_definition(self, name: str, value: str) -> None:
        definition = self.state.definitions.setdefault(name, Definition(name))
        definition.value = value
        definition.builtin = None

    def _end_definition(self) -> None:
        definition = self.state.defining
        assert definition is not None
        if not definition.value:
            definition.multiline = False
        self.state.defining = None

    def _continue_definition(self, buf: str) -> None:
        """A line of a multiline `$NAME= \\` definition: lines ending in `\\` continue it."""
        definition = self.state.defining
        assert definition is not None
        if buf.endswith("\\"):
            piece = buf[:-1].rstrip(" \t") + DEF_LINE_END
            if len(piece) >= 2:
                definition.value += piece
        else:
            self._end_definition()
            definition.value += buf

    def _check_definition(self, buf: str) -> bool:
        """`$NAME=VALUE` (no blank before `=`): define NAME; a value ending in `\\` starts a multiline one."""
        if len(buf) < 2 or not (buf[1].isascii() and (buf[1].isalpha() or buf[1] == "_")):
            return False
        end = 2
        while end < len(buf) and buf[end] != "=":
            if not (buf[end].isascii() and (buf[end].isalnum() or buf[end] == "_")):
                return False
            end += 1
        if end >= len(buf):
            return False
        name = buf[1:end]
        value = buf[end + 1 :].lstrip(" \t")
        definition = self.state.definitions.setdefault(name, Definition(name))
        definition.builtin = None
        definition.multiline = value.endswith("\\")
        if definition.multiline:
            stripped = value[:-1].rstrip(" \t")
            value = stripped + DEF_LINE_END if stripped else ""
            self.state.defining = definition
        definition.value = value
        return True

    # -- @id, $NAME=, ~SEQ and $NAME on one line -----------------------------------------------------
    def _process(self, buf: str) -> str:
        while True:
            if buf.startswith("@"):
                buf = self._conditional(buf)
                if not buf:
                    return ""
            if buf.startswith("$") and self._check_definition(buf):
                return ""
            if buf.startswith(("~SEQ", "~LST")):
                if buf[1] == "S" and not self._add_seq(buf):
                    self.report(Severity.GENERAL_ERROR, f"Invalid ~SEQ specification '{buf}'")
                elif buf[1] == "L" and not self._add_lst(buf):
                    self.report(Severity.GENERAL_ERROR, f"Invalid ~LST specification '{buf}'")
                return ""
            if buf.startswith("~") or "$" not in buf:
                return buf
            replaced, buf = self._replace_params(buf)
            if not replaced:
                return buf
            buf = decomment(buf, lambda msg: self.report(Severity.GENERAL_ERROR, msg))
            if not (buf.startswith("@") or "$" in buf):
                return buf

    def _conditional(self, buf: str) -> str:
        """`@id rest` keeps `rest` when id is the config id; `@^id rest` when it is not."""
        reverse = buf.startswith("@^")
        start = 2 if reverse else 1
        blank = min((i for i in (buf.find(" ", start), buf.find("\t", start)) if i >= 0), default=-1)
        if blank < 0:
            return ""
        matches = self.config_id is not None and buf[start:blank] == self.config_id
        if matches == reverse:
            return ""
        return buf[blank:].lstrip(" \t")

    def _find_use(self, buf: str, pos: int) -> tuple[Definition, int, str | None] | None:
        """The definition referenced by `$NAME` or `${NAME [params]}` at `pos` (just after the `$`), the index
        just past the reference, and the parameters, as keepalived's `find_definition` matches them."""
        braces = pos < len(buf) and buf[pos] == "{"
        start = pos + 1 if braces else pos
        if start >= len(buf) or not (buf[start].isascii() and (buf[start].isalpha() or buf[start] == "_")):
            return None
        end = start + 1
        while end < len(buf) and buf[end].isascii() and (buf[end].isalnum() or buf[end] == "_"):
            end += 1
        name = buf[start:end]
        params: str | None = None
        if braces:
            p = end
            while p < len(buf) and (buf[p] == " " or buf[p].isdigit()):
                p += 1
            text = buf[end:p]
            if text.strip(" "):
                if text != text.rstrip(" "):
                    return None
                params = text.strip(" ")
            if p >= len(buf) or buf[p] != "}":
                return None
            after = p + 1
        else:
            if end < len(buf) and buf[end] not in " \t,)":
                return None
            after = end
        at_end = (not braces and end == len(buf)) or (braces and end + 1 == len(buf))
        definition = self.state.definitions.get(name)
        if definition is None or (definition.multiline and not at_end):
            return None
        if params is not None and not definition.max_params:
            return None
        return definition, after, params

    def _substitution_refused(self, buf: str) -> str | None:
        """Count one substitution. None if it may go ahead, else what the line becomes: dropped ("") after
        too many on this line, left as it is once the whole reading has had too many."""
        if self._total_substitutions >= MAX_TOTAL_SUBSTITUTIONS:
            return buf
        self._total_substitutions += 1
        self._line_substitutions += 1
        if self._total_substitutions == MAX_TOTAL_SUBSTITUTIONS:
            message = f"Parameter substitution stopped after {MAX_TOTAL_SUBSTITUTIONS} substitutions"
            self.report(Severity.GENERAL_ERROR, message)
            return buf
        if self._line_substitutions >= MAX_SUBSTITUTIONS:
            self.report(Severity.GENERAL_ERROR, f"Parameter substitution on line '{buf}' does not terminate")
            return ""
        return None

    def _replace_params(self, buf: str) -> tuple[bool, str]:
        state = self.state
        pos = buf.find("$")
        found = False
        next_rest = state.multiline_rest
        while 0 <= pos < len(buf) - 1:
            use = self._find_use(buf, pos + 1)
            if use is None:
                pos = buf.find("$", pos + 1)
                continue
            definition, after, params = use
            refused = self._substitution_refused(buf)
            if refused is not None:
                return False, refused
            found = True
            value = definition.builtin(definition, params) if definition.builtin else definition.value
            replacement = value
            if definition.multiline:
                if state.multiline_rest is not None:
                    state.multiline_stack.append((state.multiline_rest, state.multiline_seq_depth))
                state.multiline_seq_depth = len(state.sequences)
                replacement, sep, rest = value.partition(DEF_LINE_END)
                next_rest = rest if sep else None
                state.multiline_rest = next_rest
            if len(buf) - (after - pos) + len(replacement) >= MAXBUF:
                self.report(
                    Severity.OK,
                    f"Parameter substitution on line '{buf}' would exceed maximum line length",
                    log=True,
                )
                return False, buf
            buf = buf[:pos] + replacement + buf[after:]
            if value.lstrip(" \t").startswith("~"):
                break
            pos = buf.find("$", pos)
        if found:
            state.multiline_rest = next_rest
        return found, buf

    # -- ~SEQ and ~LST ---------------------------------------------------------------------------------
    def _add_seq(self, buf: str) -> bool:
        sequence = parse_seq(buf, self._substitute_plain, self.report)
        if sequence is not None:
            self.state.sequences.append(sequence)
        return sequence is not None

    def _substitute_plain(self, text: str) -> str | None:
        """Parameters in ~SEQ arguments; None if one is a multiline definition."""
        before = self.state.multiline_rest
        _, text = self._replace_params(text)
        if self.state.multiline_rest is not before:
            self.state.multiline_rest = before
            return None
        return text

    def _add_lst(self, buf: str) -> bool:
        sequence = parse_lst(buf, self.report)
        if sequence is not None:
            self.state.sequences.append(sequence)
        return sequence is not None

    # -- include and braces -----------------------------------------------------------------------------
    def _check_include(self, buf: str) -> bool:
        if not is_include(buf):
            return False
        if buf[7] in " \t\n\v\f\r":
            include_type, rest = INCLUDE, buf[8:]
        else:
            include_type, rest = _INCLUDE_TYPES[buf[7]], buf[9:]
        self.source.include(rest.lstrip(" \t"), include_type)
        return True

    def _split_braces(self, buf: str) -> str:
        """Cut the line before (or just after, if it starts with one) the first `{`/`}` outside quotes."""
        state = self.state
        pos = 0 if buf[0] in "{}" else _first_brace(buf)
        if pos >= 0:
            skip = len(buf[1:]) - len(buf[1:].lstrip(" \t")) + 1 if pos == 0 else 0
            rest = buf[pos + skip :].rstrip(" \t")
            if rest:
                state.residue = rest
                buf = buf[: pos + skip]
        buf = buf.rstrip(" \t")
        if buf == "{":
            state.block_depth += 1
        elif buf == "}":
            state.block_depth -= 1
            if state.block_depth < 0:
                self.report(Severity.UNEXPECTED_EOB, "Extra '}' found")
                state.block_depth = 0
        return buf


def _first_brace(buf: str) -> int:
    pos = 0
    while pos < len(buf):
        char = buf[pos]
        if char in "{}":
            return pos
        if char == '"':
            close = buf.find('"', pos + 1)
            if close < 0:
                return -1
            pos = close
        pos += 1
    return -1


def is_include(buf: str) -> bool:
    if not buf.startswith("include") or len(buf) < 8:
        return False
    if buf[7] in " \t\n\v\f\r":
        return True
    return len(buf) > 8 and buf[8] in " \t\n\v\f\r" and buf[7] in "rmwba"


def parse_seq(
    buf: str, substitute: Callable[[str], str | None], report: Callable[[Severity, str], None]
) -> Sequence | None:
    """`~SEQ(VAR, [start,] [step,] end) text` or `~SEQx(...)` (values in hex)."""
    cur = _Cursor(buf, 4)
    hexadecimal = cur.take("x")
    cur.blanks()
    if not cur.take("("):
        return None
    cur.blanks()
    name = cur.until(" \t,)")
    cur.blanks()
    if cur.at_end() or cur.peek() == ")" or not name:
        report(Severity.GENERAL_ERROR, f"Invalid ~SEQ definition '{buf}'")
        return None
    cur.pos += 1
    cur.blanks()
    close = buf.find(")", cur.pos)
    if close < 0:
        report(Severity.GENERAL_ERROR, f"Invalid ~SEQ definition '{buf}'")
        return None
    args = substitute(buf[cur.pos : close + 1])
    if args is None:
        report(Severity.GENERAL_ERROR, f"~SEQ parameter is multiline definition '{buf}'")
        return None
    numbers = _seq_numbers(args)
    if numbers is None:
        report(Severity.GENERAL_ERROR, f"Invalid ~SEQ definition '{buf}'")
        return None
    start, step, end = numbers
    if not step or (start < end and step < 0) or (start > end and step > 0):
        report(Severity.GENERAL_ERROR, f"Invalid ~SEQ values '{buf}'")
        return None
    if hexadecimal and (start < 0 or end < 0):
        report(Severity.GENERAL_ERROR, f"~SEQx is only valid for positive numbers '{buf}'")
        return None
    count = (end - start) // step + 1
    if count > MAX_SEQUENCE:
        report(Severity.GENERAL_ERROR, f"~SEQ would produce {count} lines, more than hapair's {MAX_SEQUENCE}")
        return None
    values = (f"{start + i * step:x}" if hexadecimal else str(start + i * step) for i in range(count))
    return Sequence([name], ([v] for v in values), count, buf[_skip_blanks(buf, close + 1) :])


def _seq_numbers(args: str) -> tuple[int, int, int] | None:
    """(start, step, end) from `end)`, `start, end)` or `start, step, end)`, as keepalived defaults them."""
    numbers: list[int] = []
    rest = args
    while True:
        parsed = strtol(rest, 0)
        numbers.append(parsed.value)
        rest = parsed.rest.lstrip(" \t")
        if rest.startswith(")"):
            break
        if not rest.startswith(",") or len(numbers) == 3:
            return None
        rest = rest[1:]
    if len(numbers) == 1:
        end = numbers[0]
        return (-1 if end < 0 else 1), (-1 if end < 1 else 1), end
    if len(numbers) == 2:
        start, end = numbers
        return start, (1 if start <= end else -1), end
    start, step, end = numbers
    return start, step, end


def _skip_blanks(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


@dataclass
class _Cursor:
    text: str
    pos: int

    def blanks(self) -> None:
        self.pos = _skip_blanks(self.text, self.pos)

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def until(self, stops: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stops:
            self.pos += 1
        return self.text[start : self.pos]


def _lst_items(cur: _Cursor, stops: str, end_char: str, limit: int | None) -> list[str] | None:
    """Items separated by commas up to `end_char` (a bare item also ends at `)`); None if malformed,
    an empty list if there are more than `limit`."""
    items: list[str] = []
    while True:
        items.append(cur.until(stops))
        cur.blanks()
        if cur.peek() == end_char or (cur.peek() == ")" and end_char == ","):
            return items
        if not cur.take(","):
            return None
        cur.blanks()
        if limit is not None and len(items) > limit:
            return []


def parse_lst(buf: str, report: Callable[[Severity, str], None]) -> Sequence | None:
    """`~LST(VAR, v1, v2…) text` or `~LST({A,B}, {1,2}, {3,4}) text`; missing values are blank."""
    cur = _Cursor(buf, 4)
    cur.blanks()
    if not cur.take("("):
        return None
    cur.blanks()
    braced = cur.take("{")
    cur.blanks()
    names = _lst_items(cur, " \t,}", "}" if braced else ",", None)
    if not names:
        return None
    if cur.take("}"):
        cur.blanks()
    if not cur.take(","):
        return None
    cur.blanks()
    value_sets: list[list[str]] = []
    while True:
        set_braced = cur.take("{")
        if set_braced:
            cur.blanks()
        values = _lst_items(cur, " \t,})", "}" if set_braced else ",", len(names) - 1)
        if values is None:
            return None
        if not values:
            report(Severity.GENERAL_ERROR, f"~LST specification has too many values '{buf}'")
            return None
        value_sets.append(values + [""] * (len(names) - len(values)))
        if set_braced and cur.take("}"):
            cur.blanks()
        if cur.peek() == ")":
            break
        if not cur.take(","):
            return None
        cur.blanks()
    return Sequence(names, iter(value_sets), len(value_sets), buf[_skip_blanks(buf, cur.pos + 1) :])
