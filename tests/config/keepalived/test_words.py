"""Splitting lines into words: keepalived's default tokenizer and its shell-like one for commands
(keepalived-behaviour.md 1.2; lib/parser.c `alloc_strvec_r` and `alloc_strvec_quoted_escaped`)."""

from __future__ import annotations

import pytest

from hapair.config.keepalived.words import (
    CommandSyntaxError,
    UnmatchedQuoteError,
    split_command,
    split_words,
)

# -- split_words (alloc_strvec_r) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("", []),
        ("   \t ", []),
        ("priority 100", ["priority", "100"]),
        ("  a\tb \f c\vd\re\nf  ", ["a", "b", "c", "d", "e", "f"]),
        ('auth_pass "abc!def"', ["auth_pass", "abc!def"]),
        ('"a b" c', ["a b", "c"]),
        ('"  spaces kept  "', ["  spaces kept  "]),
        ('"" x', ["", "x"]),
        # a quote in the middle of a word ends the word, the quoted text is the next one
        ('ab"c d"e', ["ab", "c d", "e"]),
        # no escapes: the backslash is an ordinary character and the next quote closes the string
        ('"a\\"b c', ["a\\", "b", "c"]),
        ("single 'quotes are' plain", ["single", "'quotes", "are'", "plain"]),
        ("{", ["{"]),
        ("a;b ; c", ["a;b", ";", "c"]),
    ],
)
def test_split_words(line: str, words: list[str]) -> None:
    assert split_words(line) == words


@pytest.mark.parametrize(
    ("line", "read_so_far"),
    [
        ('"abc', []),
        ('notify_master "/bin/echo x', ["notify_master"]),
        ('a"b', ["a"]),
        ('"a\\"b"', ["a\\", "b"]),
    ],
)
def test_split_words_unmatched_quote(line: str, read_so_far: list[str]) -> None:
    with pytest.raises(UnmatchedQuoteError) as raised:
        split_words(line)
    assert raised.value.args == (f"Unmatched quote: '{line}'", read_so_far)


# -- split_command (alloc_strvec_quoted_escaped) ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", []),
        ("  ", []),
        ("/bin/echo a  b", ["/bin/echo", "a", "b"]),
        ("a\tb\fc\vd\re\nf", ["a", "b", "c", "d", "e", "f"]),
        # both quote kinds, concatenated with the text around them
        ('ab"c d"e', ["abc de"]),
        ("ab'c d'e", ["abc de"]),
        ("'a\"b'", ['a"b']),
        ('"a\'b"', ["a'b"]),
        ('"" x', ["", "x"]),
        ("''", [""]),
        ("'a'\"b\"c", ["abc"]),
    ],
)
def test_split_command_quotes(text: str, words: list[str]) -> None:
    assert split_command(text) == words


@pytest.mark.parametrize(
    ("escape", "char"),
    [
        ("\\a", "\a"),
        ("\\b", "\b"),
        ("\\E", "\x1b"),
        ("\\f", "\f"),
        ("\\n", "\n"),
        ("\\r", "\r"),
        ("\\t", "\t"),
        ("\\v", "\v"),
        # octal: one to three digits
        ("\\0", "\0"),
        ("\\7", "\7"),
        ("\\12", "\n"),
        ("\\101", "A"),
        ("\\1011", "A1"),
        ("\\18", "\x018"),
        # keepalived keeps the value in one char: \777 is 0x1ff & 0xff
        ("\\777", "\xff"),
        # hex: \x then as many hex digits as follow, in one char
        ("\\x41", "A"),
        ("\\x4a", "J"),
        ("\\x4A", "J"),
        ("\\x7", "\x07"),
        ("\\x414", "\x14"),
        ("\\x4142", "B"),
        ("\\x41g", "Ag"),
        ("\\xg", "xg"),
        ("\\x", "x"),
        # control characters
        ("\\cC", "\x03"),
        ("\\c[", "\x1b"),
        ("\\c>", "\x1e"),
        # anything else is the character itself
        ('\\"', '"'),
        ("\\'", "'"),
        ("\\\\", "\\"),
        ("\\#", "#"),
        ("\\!", "!"),
        ("\\q", "q"),
        ("\\ ", " "),
    ],
)
def test_split_command_escape(escape: str, char: str) -> None:
    assert split_command(f"<{escape}>") == [f"<{char}>"]


@pytest.mark.parametrize("quote", ['"', "'"])
def test_split_command_escapes_work_inside_both_quote_kinds(quote: str) -> None:
    assert split_command(f"{quote}a\\tb\\{quote}c{quote}") == [f"a\tb{quote}c"]


def test_split_command_backslash_c_at_the_end_is_a_plain_c() -> None:
    assert split_command("a\\c") == ["ac"]


def test_split_command_escaped_blank_joins_words() -> None:
    assert split_command("a\\ b c") == ["a b", "c"]


def test_split_command_evidence_notify() -> None:
    """lex_main.conf: `notify "/bin/echo hello\\#world 'a b' \\x41"` ran /usr/bin/echo hello#world 'a b' A."""
    line = "notify \"/bin/echo hello\\#world 'a b' \\x41\""
    keyword, command = split_command(line)
    assert keyword == "notify"
    assert split_command(command) == ["/bin/echo", "hello#world", "a b", "A"]


def test_split_command_evidence_escaped_quotes() -> None:
    """lex_inc.d/a.conf: the script ran '/usr/bin/echo' 'quoted' 'single quoted' '#notcomment'."""
    line = 'script "/bin/echo \\"quoted\\" \'single quoted\' #notcomment"'
    keyword, command = split_command(line)
    assert keyword == "script"
    assert command == "/bin/echo \"quoted\" 'single quoted' #notcomment"
    assert split_command(command) == ["/bin/echo", "quoted", "single quoted", "#notcomment"]


@pytest.mark.parametrize(
    ("text", "quote"),
    [('"abc', '"'), ("'abc", "'"), ('x "a\\"', '"'), ("a 'b\" c", "'"), ('ok "', '"')],
)
def test_split_command_unterminated_quote_is_a_configuration_error(text: str, quote: str) -> None:
    with pytest.raises(CommandSyntaxError) as raised:
        split_command(text)
    assert raised.value.args == (f"String '{text}': missing terminating {quote}", True)


@pytest.mark.parametrize("text", ["abc\\", '"abc\\', "a b \\"])
def test_split_command_trailing_backslash_is_only_logged(text: str) -> None:
    with pytest.raises(CommandSyntaxError) as raised:
        split_command(text)
    assert raised.value.args == (f"Missing escape char at end: '{text}'", False)
