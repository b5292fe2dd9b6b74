"""Splitting a configuration line into words, the two ways keepalived does it.

`split_words` is keepalived's default tokenizer (`alloc_strvec_r`): blanks separate words and a word that
*starts* with `"` runs to the next `"`. `split_command` is the shell-like one used for script and notify
commands (`alloc_strvec_quoted_escaped`): both quote kinds, concatenation, and backslash escapes.
"""

from __future__ import annotations

WHITE_SPACE = " \t\f\n\r\v"


class UnmatchedQuoteError(ValueError):
    pass


def split_words(line: str) -> list[str]:
    """Words of a configuration line; raises UnmatchedQuoteError with the words read so far in `args[1]`."""
    words: list[str] = []
    pos, end = 0, len(line)
    while True:
        while pos < end and line[pos] in WHITE_SPACE:
            pos += 1
        if pos >= end:
            return words
        if line[pos] == '"':
            close = line.find('"', pos + 1)
            if close < 0:
                raise UnmatchedQuoteError(f"Unmatched quote: '{line}'", words)
            words.append(line[pos + 1 : close])
            pos = close + 1
            continue
        start = pos
        while pos < end and line[pos] not in WHITE_SPACE and line[pos] != '"':
            pos += 1
        words.append(line[start:pos])


_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_OCTAL = "01234567"
_HEX = "0123456789abcdefABCDEF"


class CommandSyntaxError(ValueError):
    """A command string keepalived cannot split; `args[0]` is keepalived's message, `args[1]` whether it
    is reported as a configuration error (an unterminated quote) or only logged (a trailing backslash)."""


def _escape(text: str, pos: int) -> tuple[str, int]:
    """Decode the escape whose letter is at `pos` (just after a backslash); return it and the next index."""
    letter = text[pos]
    if letter == "x" and pos + 1 < len(text) and text[pos + 1] in _HEX:
        pos += 1
        value = 0
        while pos < len(text) and text[pos] in _HEX:
            value = ((value << 4) | int(text[pos], 16)) & 0xFF  # keepalived keeps it in one char
            pos += 1
        return chr(value), pos
    if letter == "c" and pos + 1 < len(text):
        return chr(ord(text[pos + 1]) & 0x1F), pos + 2
    if letter in _OCTAL:
        value = 0
        for _ in range(3):
            if pos >= len(text) or text[pos] not in _OCTAL:
                break
            value = (value << 3) + int(text[pos])
            pos += 1
        return chr(value & 0xFF), pos
    return _SIMPLE_ESCAPES.get(letter, letter), pos + 1


def split_command(text: str) -> list[str]:
    """Shell-like split of a command line: `"…"` and `'…'` quote, pieces concatenate, `\\` escapes."""
    words: list[str] = []
    pos, end = 0, len(text)
    while pos < end:
        while pos < end and text[pos] in WHITE_SPACE:
            pos += 1
        if pos >= end:
            break
        word: list[str] = []
        quote = ""
        while pos < end:
            char = text[pos]
            if char == "\\":
                if pos + 1 >= end:
                    raise CommandSyntaxError(f"Missing escape char at end: '{text}'", False)
                decoded, pos = _escape(text, pos + 1)
                word.append(decoded)
            elif quote:
                if char == quote:
                    quote = ""
                else:
                    word.append(char)
                pos += 1
            elif char in "\"'":
                quote = char
                pos += 1
            elif char in WHITE_SPACE:
                break
            else:
                word.append(char)
                pos += 1
        if quote:
            raise CommandSyntaxError(f"String '{text}': missing terminating {quote}", True)
        words.append("".join(word))
    return words
