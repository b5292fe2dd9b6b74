"""The keyword engine (lib/parser.c `process_stream`, `alloc_value_block`), driven through `load()` with a
small keyword set of its own, so these tests do not depend on keepalived's real keyword tables.

`toy_global` belongs to the parent's reading (like global_defs), `toy_child` and `toy_flag` to the
children's (like vrrp_instance); the handlers record what they were called with.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hapair.config.keepalived import complete as completion_checks
from hapair.config.keepalived import load as load_module
from hapair.config.keepalived.diagnostics import MissingParameterError, Severity
from hapair.config.keepalived.engine import (
    DeferredRoots,
    Keyword,
    KeywordTable,
    Parser,
    ReadingState,
    RootKeyword,
    Words,
)
from hapair.config.keepalived.load import LoadResult, load
from hapair.config.keepalived.reader import FileSource

from .conftest import lab_host

MAIN = "keepalived.conf"


@dataclass
class Toy:
    """What the toy handlers saw: (reading, keyword, words, file, line)."""

    calls: list[tuple[str, str, tuple[str, ...], str | None, int | None]] = field(default_factory=list)
    tmp_path: Path = Path()

    def record(self, parser: Parser, name: str, words: Words | tuple[str, ...]) -> None:
        reading = "parent" if isinstance(parser.reader.source, FileSource) else "child"
        self.calls.append((reading, name, tuple(words), *parser.reader.source.location()))

    def seen(self, reading: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
        return [(name, words) for r, name, words, _, _ in self.calls if reading in (None, r)]

    def read(self, text: str, *, config_test: bool = True) -> LoadResult:
        (self.tmp_path / MAIN).write_text(textwrap.dedent(text))
        return load(MAIN, lab_host(), config_test=config_test, cwd=str(self.tmp_path))


@dataclass
class Counted(ReadingState):
    """A toy reading's state: how many `count` lines it has read."""

    seen: int = 0


def toy_roots(toy: Toy) -> list[RootKeyword]:
    def recorder(name: str) -> Keyword:
        return Keyword(name, lambda parser, words: toy.record(parser, name, words))

    def needs_two(parser: Parser, words: Words) -> None:
        toy.record(parser, "need", (words.arg(1), words.arg(2)))

    def items(parser: Parser, words: Words) -> None:
        toy.record(parser, "items", words)
        parser.value_block(words, lambda item: toy.record(parser, "item", item))

    def values(parser: Parser, words: Words) -> None:
        toy.record(parser, "list", tuple(parser.value_list(words)))

    def skipped(parser: Parser, words: Words) -> None:
        toy.record(parser, "skipped", words)
        if len(words) > 1 and words[1] == "dup":
            parser.skip_block()

    def number(parser: Parser, words: Words) -> None:
        value = parser.read_int(words.arg(1), 1, 255, lenient=True)
        toy.record(parser, "number", (str(value),))

    def command(parser: Parser, _words: Words) -> None:
        toy.record(parser, "command", tuple(parser.command_words() or ("<none>",)))

    def log(parser: Parser, words: Words) -> None:
        parser.log(f"logged {words[1]}")

    def count(state: Counted, parser: Parser, _words: Words) -> None:
        state.seen += 1
        toy.record(parser, "count", (str(state.seen),))

    def closer(name: str) -> object:
        return lambda parser: toy.record(parser, f"close {name}", ())

    leaf = KeywordTable()
    for keyword in (recorder("leaf"), Keyword("need", needs_two)):
        leaf.add(keyword)
    global_table = KeywordTable()
    for keyword in (
        recorder("name"),
        Keyword("nested", lambda p, w: toy.record(p, "nested", w), sub=leaf, close=closer("nested")),
        Keyword("need", needs_two),
        Keyword("count", Counted.bind(count)),
    ):
        global_table.add(keyword)
    child_table = KeywordTable()
    for keyword in (
        recorder("value"),
        Keyword("value", lambda p, w: toy.record(p, "second value", w)),
        Keyword("need", needs_two),
        Keyword("items", items),
        Keyword("list", values),
        Keyword("number", number),
        Keyword("command", command),
        Keyword("log", log),
        Keyword("skipped", skipped, sub=leaf, close=closer("skipped")),
        Keyword("count", Counted.bind(count)),
    ):
        child_table.add(keyword)
    return [
        RootKeyword(Keyword("toy_global", recorder("toy_global").handler, sub=global_table), "global"),
        RootKeyword(
            Keyword("toy_child", recorder("toy_child").handler, sub=child_table, close=closer("toy_child")),
            "vrrp",
        ),
        RootKeyword(recorder("toy_flag"), "vrrp"),
        RootKeyword(Keyword("toy_flag", lambda p, w: toy.record(p, "second toy_flag", w)), "check"),
    ]


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Toy:
    recorded = Toy(tmp_path=tmp_path)
    monkeypatch.setattr(load_module, "all_roots", lambda: toy_roots(recorded))
    monkeypatch.setattr(load_module, "deferred_roots", list)
    monkeypatch.setattr(completion_checks, "complete", lambda _completion: None)
    return recorded


def messages(result: LoadResult) -> list[tuple[Severity, str, int | None]]:
    return [(d.severity, d.message, d.line) for d in result.report if not d.log]


# -- the two readings --------------------------------------------------------------------------------------


def test_each_reading_runs_its_own_keywords(toy: Toy) -> None:
    result = toy.read(
        """\
        toy_global {
            name  alpha "b c"
        }
        toy_child VI_1 {
            value 1
        }
        toy_flag x
        """
    )
    assert toy.calls == [
        ("parent", "toy_global", ("toy_global",), MAIN, 1),
        ("parent", "name", ("name", "alpha", "b c"), MAIN, 2),
        ("child", "toy_child", ("toy_child", "VI_1"), MAIN, 4),
        ("child", "value", ("value", "1"), MAIN, 5),
        ("child", "close toy_child", (), MAIN, 6),
        ("child", "toy_flag", ("toy_flag", "x"), MAIN, 7),
    ]
    assert messages(result) == []
    assert result.exit_status == 0


def test_each_reading_keeps_its_own_state(toy: Toy, monkeypatch: pytest.MonkeyPatch) -> None:
    """What keepalived keeps in statics while it reads lives as long as one reading (Parser.reading_state),
    not in the keyword tables, which both readings may share."""
    roots = toy_roots(toy)
    monkeypatch.setattr(load_module, "all_roots", lambda: roots)
    toy.read("toy_global {\n count\n count\n}\ntoy_child {\n count\n}\ntoy_child {\n count\n}\n")
    assert [words for name, words in toy.seen("parent") if name == "count"] == [("1",), ("2",)]
    assert [words for name, words in toy.seen("child") if name == "count"] == [("1",), ("2",)]


def test_a_deferred_group_is_built_when_a_reading_with_it_active_meets_it(
    toy: Toy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its tables are built once, by the children's reading; the parent's skips its block as that of a
    known keyword, and a file without its keywords never builds them."""
    built: list[str] = []

    def load_late() -> list[Keyword]:
        built.append("late")
        inner = KeywordTable()
        inner.add(Keyword("inner", lambda p, w: toy.record(p, "inner", w)))
        return [
            Keyword("toy_late", lambda p, w: toy.record(p, "toy_late", w), sub=inner),
            Keyword("toy_later", lambda p, w: toy.record(p, "toy_later", w)),
        ]

    deferred = [DeferredRoots("check", ("toy_late", "toy_later"), load_late)]
    monkeypatch.setattr(load_module, "deferred_roots", lambda: deferred)
    result = toy.read("toy_late a {\n inner\n}\ntoy_later b\ntoy_late c {\n}\n")
    assert built == ["late"]
    assert toy.seen() == [
        ("toy_late", ("toy_late", "a")),
        ("inner", ("inner",)),
        ("toy_later", ("toy_later", "b")),
        ("toy_late", ("toy_late", "c")),
    ]
    assert messages(result) == []
    built.clear()
    toy.read("toy_flag x\n")
    assert built == []


def test_first_keyword_of_a_name_wins(toy: Toy) -> None:
    """keepalived looks keywords up in install order: a later keyword of the same name is never reached."""
    toy.read("toy_child {\n value 1\n}\ntoy_flag\n")
    assert ("second value", ("value", "1")) not in toy.seen()
    assert ("second toy_flag", ("toy_flag",)) not in toy.seen()
    table = KeywordTable()
    first = table.add(Keyword("k"))
    assert table.add(Keyword("k")) is first
    assert table.get("k") is first


def test_unknown_keywords_are_reported_once_with_their_place(toy: Toy) -> None:
    result = toy.read("bogus_top 1\ntoy_child {\n  bogus_in 2\n  value 3\n}\n")
    assert messages(result) == [
        (Severity.UNKNOWN_KEYWORD, "Unknown keyword 'bogus_top'", 1),
        (Severity.UNKNOWN_KEYWORD, "Unknown keyword 'bogus_in'", 3),
    ]
    assert toy.seen("child")[1] == ("value", ("value", "3"))
    assert result.exit_status == 5


def test_keywords_are_case_sensitive(toy: Toy) -> None:
    result = toy.read("toy_child {\n  Value 1\n}\n")
    assert messages(result) == [(Severity.UNKNOWN_KEYWORD, "Unknown keyword 'Value'", 2)]


# -- blocks ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "toy_child VI_1 {\n value 1\n}\n",
        "toy_child VI_1\n{\n value 1\n}\n",
        "toy_child VI_1 { value 1\n}\n",
        "toy_child VI_1 { value 1 }\n",
        "toy_child VI_1 {\n value 1 }\n",
    ],
)
def test_block_forms(toy: Toy, text: str) -> None:
    result = toy.read(text)
    assert toy.seen("child") == [
        ("toy_child", ("toy_child", "VI_1")),
        ("value", ("value", "1")),
        ("close toy_child", ()),
    ]
    assert messages(result) == []


def test_text_after_a_closing_brace_belongs_to_the_enclosing_block(toy: Toy) -> None:
    """lex2.conf: `} notify_master "/bin/echo a!b#c"` applied notify_master to VI_A."""
    toy.read("toy_global {\n nested {\n  leaf 1\n } name after\n}\n")
    assert toy.seen("parent") == [
        ("toy_global", ("toy_global",)),
        ("nested", ("nested",)),
        ("leaf", ("leaf", "1")),
        ("close nested", ()),
        ("name", ("name", "after")),
    ]


def test_missing_opening_brace(toy: Toy) -> None:
    """Where the block keyword is active: `Missing '{'`, then the block is read. Where it is not, keepalived
    has no sub-keywords for it, so the lines after it are read at the top level (keepalived -t on a
    vrrp_instance without `{`: `Unknown keyword 'interface'` …, from the parent and checker processes)."""
    result = toy.read("toy_child VI_1\n value 1\n}\n")
    assert sorted(messages(result)) == sorted(
        [
            (Severity.UNKNOWN_KEYWORD, "Unknown keyword 'value'", 2),
            (Severity.MISSING_BOB, "Missing '{' at beginning of configuration block", 2),
            (Severity.UNEXPECTED_EOB, "Extra '}' found", 3),
            (Severity.UNKNOWN_KEYWORD, "Unknown keyword '}'", 3),
        ]
    )
    assert toy.seen("parent") == []
    assert toy.seen("child") == [
        ("toy_child", ("toy_child", "VI_1")),
        ("value", ("value", "1")),
        ("close toy_child", ()),
    ]
    assert result.exit_status == 5


def test_unexpected_opening_brace(toy: Toy) -> None:
    """The ignored `{` leaves its `}` to close the block, and the block's own `}` is left over."""
    result = toy.read("toy_child {\n value 1\n {\n value 2\n }\n}\n")
    assert messages(result) == [
        (Severity.UNEXPECTED_BOB, "Unexpected '{' - ignoring", 3),
        (Severity.UNKNOWN_KEYWORD, "Unknown keyword '}'", 6),
    ]
    assert [words for name, words in toy.seen("child") if name == "value"] == [("value", "1"), ("value", "2")]


def test_missing_closing_brace_at_the_end(toy: Toy) -> None:
    """configtest_t2.conf: `There are 1 missing '}'s or extra '{'s` (no place), exit status 5."""
    result = toy.read("toy_child {\n value 1\n")
    assert [(d.severity, d.message, d.file, d.line) for d in result.report] == [
        (Severity.MISSING_EOB, "There are 1 missing '}'s or extra '{'s", None, None)
    ]
    assert result.exit_status == 5


def test_unknown_keyword_block_is_skipped(toy: Toy) -> None:
    """Deliberate difference (configtest_t9_unknown_block.conf): keepalived 2.2.7 reads an unknown keyword's
    block as if it were not there, so its `}` closes the enclosing block; hapair skips the whole block."""
    result = toy.read(
        """\
        toy_child VI_1 {
            foo_block {
                value 0
                inner {
                    value 00
                }
            }
            value 1
            foo_next
            {
                value 000
            }
            value 2
        }
        toy_flag after
        """
    )
    assert messages(result) == [
        (Severity.UNKNOWN_KEYWORD, "Unknown keyword 'foo_block'", 2),
        (Severity.UNKNOWN_KEYWORD, "Unknown keyword 'foo_next'", 9),
    ]
    assert toy.seen("child") == [
        ("toy_child", ("toy_child", "VI_1")),
        ("value", ("value", "1")),
        ("value", ("value", "2")),
        ("close toy_child", ()),
        ("toy_flag", ("toy_flag", "after")),
    ]
    assert result.exit_status == 5


def test_unknown_keyword_without_a_block_skips_only_its_line(toy: Toy) -> None:
    toy.read("toy_child {\n foo_bar 1\n value 1\n}\n")
    assert ("value", ("value", "1")) in toy.seen("child")


def test_skip_block_skips_the_rest_and_the_close_handler(toy: Toy) -> None:
    """keepalived's `skip_block(true)` (e.g. a vrrp_instance already defined)."""
    result = toy.read(
        "toy_child {\n skipped dup {\n  leaf 1\n  {\n  }\n }\n skipped ok {\n  leaf 2\n }\n value 3\n}\n"
    )
    assert toy.seen("child") == [
        ("toy_child", ("toy_child",)),
        ("skipped", ("skipped", "dup")),
        ("skipped", ("skipped", "ok")),
        ("leaf", ("leaf", "2")),
        ("close skipped", ()),
        ("value", ("value", "3")),
        ("close toy_child", ()),
    ]
    assert messages(result) == []


def test_a_refused_block_without_its_brace_is_not_read_as_its_keywords(toy: Toy) -> None:
    """keepalived reads the lines after a refused block keyword with no `{` as that block's keywords, on a
    leftover object (a crash for a vrrp_instance with two names); hapair reads them where they stand."""
    result = toy.read("toy_child {\n skipped dup\n leaf 1\n value 3\n}\n")
    assert toy.seen("child") == [
        ("toy_child", ("toy_child",)),
        ("skipped", ("skipped", "dup")),
        ("value", ("value", "3")),
        ("close toy_child", ()),
    ]
    assert messages(result) == [
        (Severity.MISSING_BOB, "Missing '{' at beginning of configuration block", 3),
        (Severity.UNKNOWN_KEYWORD, "Unknown keyword 'leaf'", 3),
    ]


def test_inactive_roots_skip_their_block_in_each_reading(toy: Toy) -> None:
    toy.read("toy_child\n{\n value 1\n}\ntoy_global\n{\n name 2\n}\n")
    assert toy.seen("parent") == [("toy_global", ("toy_global",)), ("name", ("name", "2"))]
    assert toy.seen("child") == [
        ("toy_child", ("toy_child",)),
        ("value", ("value", "1")),
        ("close toy_child", ()),
    ]


# -- missing parameters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "index", "message"),
    [
        (["priority"], 1, "`priority` is missing a parameter after keyword `priority` at word position 2"),
        (["need", "a"], 2, "`need` is missing a parameter after keyword `a` at word position 3"),
        (["need"], 2, "`need` is missing a parameter at word position 3"),
        ([], 0, "`***MISSING ***` is missing a parameter at word position 1"),
    ],
)
def test_words_arg_missing(words: list[str], index: int, message: str) -> None:
    with pytest.raises(MissingParameterError) as raised:
        Words(words).arg(index)
    assert str(raised.value) == f"*** Configuration line starting {message}"


def test_missing_parameter_stops_reading_with_exit_status_2(toy: Toy) -> None:
    """configtest_t8.conf: the message, and keepalived exits at once with status 2."""
    result = toy.read("toy_child {\n value 1\n need a\n value 2\n bogus\n}\n")
    assert messages(result) == [
        (
            Severity.MISSING_PARAMETER,
            "*** Configuration line starting `need` is missing a parameter after keyword `a` "
            "at word position 3",
            3,
        )
    ]
    assert ("value", ("value", "2")) not in toy.seen()
    assert result.missing_parameter
    assert result.exit_status == 2


def test_missing_parameter_in_the_parent_reading_stops_everything(toy: Toy) -> None:
    result = toy.read("toy_global {\n need\n}\ntoy_child {\n bogus\n}\n")
    assert [message for _, message, _ in messages(result)] == [
        "*** Configuration line starting `need` is missing a parameter after keyword `need` "
        "at word position 2"
    ]
    assert toy.seen("child") == []
    assert result.exit_status == 2


# -- value blocks ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("items {\n  a b\n  c\n}\n", [("a", "b"), ("c",)]),
        ("items {\n}\n", []),
        ("items { x }\n", [("x",)]),
        # keepalived-behaviour.md 1.1: one item per line, even with several on one line
        ("items { 10.0.0.1/24 10.0.0.2/24 }\n", [("10.0.0.1/24", "10.0.0.2/24")]),
        ("items\n{\n a\n}\n", [("a",)]),
        ("items {\n a }\n", [("a",)]),
        # braces in quotes reach the handler as words: keepalived's first_vec path
        ('items "{" a b "}"\n', [("a", "b")]),
    ],
)
def test_value_block_items(toy: Toy, text: str, items: list[tuple[str, ...]]) -> None:
    result = toy.read(f"toy_child {{\n{text} value after\n}}\n")
    assert [words for name, words in toy.seen("child") if name == "item"] == items
    assert ("value", ("value", "after")) in toy.seen("child")
    assert messages(result) == []


def test_value_block_without_opening_brace_is_logged(toy: Toy) -> None:
    """The block's `}` ends the value block, so the enclosing block's `}` is one too many."""
    result = toy.read("toy_child {\n items\n  a\n }\n value after\n}\n")
    assert [words for name, words in toy.seen("child") if name in ("item", "value")] == [
        ("a",),
        ("value", "after"),
    ]
    assert sorted((d.message, d.line, d.log) for d in result.report) == sorted(
        [
            ("'{' missing from beginning of block items", 3, True),
            ("Extra '}' found", 6, False),
            # the parent, skipping toy_child, took the value block's `}` for toy_child's
            ("Unknown keyword 'value'", 5, False),
            ("Unknown keyword '}'", 6, False),
        ]
    )


def test_value_block_with_extra_parameters(toy: Toy) -> None:
    result = toy.read("toy_child {\n items extra more {\n  a\n }\n}\n")
    assert messages(result) == [(Severity.GENERAL_ERROR, "Block items has extra parameters extra ...", 2)]
    assert [words for name, words in toy.seen("child") if name == "item"] == [("a",)]


def test_value_list(toy: Toy) -> None:
    toy.read("toy_child {\n list {\n  a b\n  c\n }\n}\n")
    assert ("list", ("a", "b", "c")) in toy.seen("child")


def test_value_block_at_end_of_file(toy: Toy) -> None:
    result = toy.read("toy_child {\n items {\n  a\n")
    assert [words for name, words in toy.seen("child") if name == "item"] == [("a",)]
    assert {message for _, message, _ in messages(result)} == {"There are 2 missing '}'s or extra '{'s"}


# -- words, numbers and commands through the parser -------------------------------------------------------


def test_unmatched_quote(toy: Toy) -> None:
    result = toy.read('toy_child {\n value a "b c\n}\n')
    assert ("value", ("value", "a")) in toy.seen("child")
    assert messages(result) == [
        (Severity.GENERAL_ERROR, "Unterminated quote 'value a \"b c'", 2),
        (Severity.UNMATCHED_QUOTE, "Unmatched quote: 'value a \"b c'", 2),
    ]


def test_numbers_are_reported_at_their_line(toy: Toy) -> None:
    result = toy.read("toy_child {\n number 12\n number 300\n number 5x\n}\n")
    assert [words for name, words in toy.seen("child") if name == "number"] == [("12",), ("None",), ("None",)]
    assert messages(result) == [
        (Severity.INVALID_NUMBER, "number '300' outside range [1, 255]", 3),
        (Severity.INVALID_NUMBER, "invalid number '5x'", 4),
    ]


def test_numbers_are_read_leniently_at_run_time(toy: Toy) -> None:
    result = toy.read("toy_child {\n number 5x\n}\n", config_test=False)
    assert [words for name, words in toy.seen("child") if name == "number"] == [("5",)]
    assert messages(result) == [(Severity.INVALID_NUMBER, "WARNING - invalid number '5x'", 2)]


def test_command_words_split_the_raw_line(toy: Toy) -> None:
    result = toy.read(
        "toy_child {\n"
        " command \"/bin/echo hello\\#world 'a b' \\x41\" user\n"
        ' command "/bin/echo\n'
        " command /bin/echo \\\n"
        "}\n"
    )
    assert [words for name, words in toy.seen("child") if name == "command"] == [
        ("command", "/bin/echo hello#world 'a b' A", "user"),
        ("<none>",),
        ("<none>",),
    ]
    assert [(d.severity, d.message, d.line, d.log) for d in result.report] == [
        (Severity.GENERAL_ERROR, "Unterminated quote 'command \"/bin/echo'", 3, False),
        (Severity.UNMATCHED_QUOTE, "Unmatched quote: 'command \"/bin/echo'", 3, False),
        (Severity.UNMATCHED_QUOTE, "String 'command \"/bin/echo': missing terminating \"", 3, False),
        (Severity.OK, "Missing escape char at end: 'command /bin/echo\\'", 4, True),
    ]


def test_log_only_messages_do_not_count(toy: Toy) -> None:
    result = toy.read("toy_child {\n log x\n}\n")
    assert [(d.severity, d.message, d.line, d.log) for d in result.report] == [
        (Severity.OK, "logged x", 2, True)
    ]
    assert result.exit_status == 0
