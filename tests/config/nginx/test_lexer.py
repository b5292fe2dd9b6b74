"""The tokenizer, as ngx_conf_read_token reads: words, quotes, escapes, comments, braces, and its errors."""

from __future__ import annotations

import pytest

from hapair.config.nginx.errors import ConfigError
from hapair.config.nginx.lexer import End, Lexer


def tokens(text: bytes) -> list[tuple[End, list[str]]]:
    lexer = Lexer(text, "t.conf")
    out = []
    while True:
        end, words = lexer.read()
        out.append((end, words))
        if end is End.FILE_DONE:
            return out


def lex_error(text: bytes) -> tuple[str, int]:
    with pytest.raises(ConfigError) as caught:
        tokens(text)
    place = caught.value.message.place
    assert place is not None
    return caught.value.message.text, place.line


def test_words_are_separated_by_blanks_and_ended_by_a_semicolon() -> None:
    assert tokens(b"listen  8080\tssl\r\n;") == [
        (End.STATEMENT, ["listen", "8080", "ssl"]),
        (End.FILE_DONE, []),
    ]


def test_a_brace_starts_a_block_and_a_closing_brace_ends_it() -> None:
    assert tokens(b"server{ }") == [
        (End.BLOCK_START, ["server"]),
        (End.BLOCK_DONE, []),
        (End.FILE_DONE, []),
    ]


def test_quotes_keep_blanks_semicolons_and_braces_in_a_word() -> None:
    assert tokens(b"""a "b c;{}" 'd ;';""")[0] == (End.STATEMENT, ["a", "b c;{}", "d ;"])


def test_quoted_strings_may_be_empty() -> None:
    assert tokens(b"""a "" '';""")[0] == (End.STATEMENT, ["a", "", ""])


def test_escapes_give_quotes_backslash_tab_return_and_newline() -> None:
    assert tokens(b'a "\\"\\\'\\\\\\t\\r\\n";')[0] == (End.STATEMENT, ["a", "\"'\\\t\r\n"])


def test_other_escapes_keep_their_backslash() -> None:
    assert tokens(b"a \\d\\$x;")[0] == (End.STATEMENT, ["a", "\\d\\$x"])


def test_an_escaped_semicolon_is_part_of_the_word() -> None:
    assert tokens(b"a b\\;c;")[0] == (End.STATEMENT, ["a", "b\\;c"])


def test_a_comment_runs_to_the_end_of_the_line() -> None:
    assert tokens(b"# a; {\na b; # c }\n")[0] == (End.STATEMENT, ["a", "b"])


def test_a_hash_inside_a_word_is_not_a_comment() -> None:
    assert tokens(b"a b#c;")[0] == (End.STATEMENT, ["a", "b#c"])


def test_a_brace_after_a_dollar_does_not_end_the_word() -> None:
    assert tokens(b"a ${b}c;")[0] == (End.STATEMENT, ["a", "${b}c"])


def test_a_word_may_follow_a_closing_quote_after_a_parenthesis() -> None:
    assert tokens(b'if ($a = "b") {')[0] == (End.BLOCK_START, ["if", "($a", "=", "b", ")"])


def test_non_utf8_bytes_are_kept() -> None:
    (_, words), _ = tokens(b"a \xff;")
    assert words[1].encode("utf-8", "surrogateescape") == b"\xff"


def test_lines_count_newlines_and_a_directive_is_placed_at_its_semicolon() -> None:
    lexer = Lexer(b"\n\na\nb\n;", "t.conf")
    lexer.read()
    assert lexer.here().line == 5


def test_a_character_right_after_a_closing_quote_is_unexpected() -> None:
    assert lex_error(b'a "b"c;') == ('unexpected "c"', 1)


def test_a_semicolon_without_a_directive_is_unexpected() -> None:
    assert lex_error(b"\n;") == ('unexpected ";"', 2)


def test_a_brace_without_a_directive_is_unexpected() -> None:
    assert lex_error(b"{") == ('unexpected "{"', 1)


def test_a_closing_brace_inside_a_directive_is_unexpected() -> None:
    assert lex_error(b"a b }") == ('unexpected "}"', 1)


def test_a_directive_cut_by_the_end_of_the_file_is_an_error() -> None:
    assert lex_error(b"a b\n") == ('unexpected end of file, expecting ";" or "}"', 2)


def test_an_unterminated_quote_is_an_unexpected_end_of_file() -> None:
    assert lex_error(b'a "b;\n}') == ('unexpected end of file, expecting ";" or "}"', 2)


def test_a_word_longer_than_nginx_buffer_is_too_long() -> None:
    assert lex_error(b"a " + b"x" * 5000 + b";\n") == ('too long parameter "xxxxxxxxxx..." started', 1)


def test_a_quoted_word_longer_than_the_buffer_is_probably_unterminated() -> None:
    text, line = lex_error(b"a\n'" + b"x" * 5000 + b"';")
    assert (text, line) == ('too long parameter, probably missing terminating "\'" character', 2)


def test_a_quoted_word_of_4094_bytes_fits_the_buffer() -> None:
    assert tokens(b'"' + b"x" * 4094 + b'";')[0] == (End.STATEMENT, ["x" * 4094])


def test_a_quoted_word_of_4095_bytes_does_not_fit_with_the_character_after_its_quote() -> None:
    assert lex_error(b'"' + b"x" * 4095 + b'";') == ('too long parameter "xxxxxxxxxx..." started', 1)
