"""nginx's tokenizer (ngx_conf_read_token), byte for byte.

A file is read as nginx reads it: words separated by blanks, a directive ended by `;` or by `{` (a
block), `}` closing a block, `#` comments to the end of the line, single and double quotes, backslash
escapes (`\\"`, `\\'`, `\\\\`, `\\t`, `\\r`, `\\n`; any other backslash is kept), and `${` not ending a word.
nginx reads through a 4096-byte buffer and refuses a word that does not fit in it; the buffer is simulated
so that the same words are refused.

The directives given with `-g` are read the same way (`Lexer.of_parameter`): nginx holds them in one
buffer, places its messages "in command line", and wants the last one ended by `;`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import ConfigError
from .model.place import COMMAND_LINE, Place

CONF_BUFFER = 4096  # NGX_CONF_BUFFER
_BLANKS = b" \t\r\n"
_ESCAPES = {
    ord('"'): b'"',
    ord("'"): b"'",
    ord("\\"): b"\\",
    ord("t"): b"\t",
    ord("r"): b"\r",
    ord("n"): b"\n",
}


class End(Enum):
    """What ended a token read: nginx's NGX_OK, NGX_CONF_BLOCK_START, NGX_CONF_BLOCK_DONE,
    NGX_CONF_FILE_DONE."""

    STATEMENT = ";"
    BLOCK_START = "{"
    BLOCK_DONE = "}"
    FILE_DONE = "end of file"


def decode(raw: bytes) -> str:
    """Configuration bytes as text: UTF-8, other bytes kept as surrogates so nothing is lost."""
    return raw.decode("utf-8", "surrogateescape")


@dataclass
class _Word:
    """The state of the word being read (ngx_conf_read_token's flags)."""

    need_space: bool = False
    last_space: bool = True
    sharp_comment: bool = False
    variable: bool = False
    quoted: bool = False
    s_quoted: bool = False
    d_quoted: bool = False


class Lexer:
    """The words of one configuration file, one directive at a time."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.line = 1
        self._pos = 0
        self._last = 0  # the end of what nginx's buffer holds
        self._parameter = False

    @classmethod
    def of_parameter(cls, text: str) -> Lexer:
        """The directives of `-g` (ngx_conf_param)."""
        lexer = cls(text.encode("utf-8", "surrogateescape"), COMMAND_LINE.file)
        lexer._parameter = True
        lexer._last = len(lexer.data)
        return lexer

    @property
    def parameter(self) -> bool:
        """Whether these are the directives of `-g`."""
        return self._parameter

    def here(self) -> Place:
        return COMMAND_LINE if self._parameter else Place(self.name, self.line)

    def read(self) -> tuple[End, list[str]]:
        """The next directive's words and what ended them; `}` and the end of the file come with no words."""
        words: list[str] = []
        state = _Word()
        start = self._pos
        start_line = self.line
        while True:
            if self._pos >= self._last:
                ended = self._refill(words, state, start, start_line)
                if ended is not None:
                    return ended, words
            ch = self.data[self._pos]
            self._pos += 1
            if ch == 0x0A:
                self.line += 1
                state.sharp_comment = False
            if state.sharp_comment:
                continue
            if state.quoted:
                state.quoted = False
                continue
            if state.need_space:
                end = self._after_quote(ch, state)
                if end is not None:
                    return end, words
                if ch != ord(")"):
                    continue
            if state.last_space:
                start = self._pos - 1
                start_line = self.line
                end = self._word_start(ch, words, state)
                if end is not None:
                    return end, words
                if state.d_quoted or state.s_quoted:
                    start += 1  # the word is what the quotes enclose
                continue
            end = self._in_word(ch, words, state, start)
            if end is not None:
                return end, words

    def _refill(self, words: list[str], state: _Word, start: int, start_line: int) -> End | None:
        """nginx reads the next buffer: FILE_DONE at the end of the file, an error where nginx gives one."""
        if self._last >= len(self.data):
            if words or not state.last_space:
                expected = 'parameter, expecting ";"' if self._parameter else 'file, expecting ";" or "}"'
                raise ConfigError(f"unexpected end of {expected}", self.here())
            return End.FILE_DONE
        if self._pos - start == CONF_BUFFER:
            self.line = start_line
            if state.d_quoted or state.s_quoted:
                quote = '"' if state.d_quoted else "'"
                text = f'too long parameter, probably missing terminating "{quote}" character'
            else:
                text = f'too long parameter "{decode(self.data[start : start + 10])}..." started'
            raise ConfigError(text, self.here())
        self._last = min(len(self.data), start + CONF_BUFFER)
        return None

    def _after_quote(self, ch: int, state: _Word) -> End | None:
        """After a closing quote: a blank, `;`, `{` or `)` must follow; `)` then starts a word."""
        if ch in _BLANKS:
            state.last_space = True
            state.need_space = False
            return None
        if ch == ord(";"):
            return End.STATEMENT
        if ch == ord("{"):
            return End.BLOCK_START
        if ch == ord(")"):
            state.last_space = True
            state.need_space = False
            return None
        raise ConfigError(f'unexpected "{decode(bytes([ch]))}"', self.here())

    def _word_start(self, ch: int, words: list[str], state: _Word) -> End | None:
        """Between words: what the character starts."""
        if ch in _BLANKS:
            return None
        if ch in (ord(";"), ord("{")):
            if not words:
                raise ConfigError(f'unexpected "{chr(ch)}"', self.here())
            return End.BLOCK_START if ch == ord("{") else End.STATEMENT
        if ch == ord("}"):
            if words:
                raise ConfigError('unexpected "}"', self.here())
            return End.BLOCK_DONE
        if ch == ord("#"):
            state.sharp_comment = True
            return None
        state.last_space = False
        if ch == ord("\\"):
            state.quoted = True
        elif ch == ord('"'):
            state.d_quoted = True
        elif ch == ord("'"):
            state.s_quoted = True
        elif ch == ord("$"):
            state.variable = True
        return None

    def _in_word(self, ch: int, words: list[str], state: _Word, start: int) -> End | None:
        """Inside a word: whether `ch` ends it, and with it the directive."""
        if ch == ord("{") and state.variable:
            return None
        state.variable = False
        if ch == ord("\\"):
            state.quoted = True
            return None
        if ch == ord("$"):
            state.variable = True
            return None
        found = False
        if state.d_quoted or state.s_quoted:
            if ch == (ord('"') if state.d_quoted else ord("'")):
                state.d_quoted = state.s_quoted = False
                state.need_space = True
                found = True
        elif ch in _BLANKS or ch in (ord(";"), ord("{")):
            state.last_space = True
            found = True
        if not found:
            return None
        words.append(decode(_unescape(self.data[start : self._pos - 1])))
        if ch == ord(";"):
            return End.STATEMENT
        if ch == ord("{"):
            return End.BLOCK_START
        return None


def _unescape(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        if raw[i] == ord("\\") and i + 1 < len(raw) and raw[i + 1] in _ESCAPES:
            out += _ESCAPES[raw[i + 1]]
            i += 2
            continue
        out.append(raw[i])
        i += 1
    return bytes(out)
