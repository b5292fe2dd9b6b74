"""keepalived's line reader (keepalived-behaviour.md 1.1, 1.3-1.7; lib/parser.c `read_line`): the logical
lines both readings produce, with the file and line each came from, and the reader's messages.

Most tests drive `Reader` directly over `FileSource` (the parent's reading) and `CopySource` (the children's
reading of the parent's copy), so they do not depend on any keyword table. Expected values come from the
recorded keepalived runs (keepalived-evidence/) or from the 2.2.7 binary run on the same input.
"""

from __future__ import annotations

import shutil
import signal
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import pytest

from hapair.config.keepalived.diagnostics import Diagnostic, Report, Severity
from hapair.config.keepalived.reader import MAXBUF, CopySource, FileSource, Reader
from tests.reference import EVIDENCE, SAMPLES

from .conftest import ReadConfig, errors

MAIN = "keepalived.conf"

# keepalived 2.2.7 exits 6 (KEEPALIVED_EXIT_NO_CONFIG) when a required include is missing; hapair uses 4,
# the status `-t` documents for a missing file (6 is `-t`'s status for a script-security violation).
FATAL_FILE_STATUS = 4


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Turn a hang into a TimeoutError (and leave any outer alarm, e.g. pytest-timeout's, running)."""

    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        left, _ = signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (seconds - left), 0.001))


@dataclass(frozen=True)
class Line:
    text: str
    file: str | None
    line: int | None


@dataclass
class Reading:
    parent: list[Line]  # the parent's reading of the files
    child: list[Line]  # a child's reading of the parent's copy
    report: Report

    @property
    def texts(self) -> list[str]:
        """The logical lines, when both readings agree on them."""
        assert [line.text for line in self.parent] == [line.text for line in self.child]
        return [line.text for line in self.parent]

    @property
    def messages(self) -> list[tuple[Severity, str, str | None, int | None]]:
        return [(d.severity, d.message, d.file, d.line) for d in self.report if not d.log]

    @property
    def log_messages(self) -> list[str]:
        return [d.message for d in self.report if d.log]


def _drain(reader: Reader) -> list[Line]:
    lines = []
    while (text := reader.read_line()) is not None:
        lines.append(Line(text, *reader.source.location()))
    return lines


def write_files(directory: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content))


def read_lines(
    directory: Path,
    text: str | bytes | None,
    *,
    files: dict[str, str | bytes] | None = None,
    config_id: str | None = "nodeA",
    main: str = MAIN,
    seed: int | None = None,
) -> Reading:
    """Write `text` as `main` (and `files`) in `directory` and read it both ways, from that directory."""
    write_files(directory, {**(files or {}), **({main: text} if text is not None else {})})
    report = Report()

    def add(severity: Severity, message: str, file: str | None, line: int | None, log: bool = False) -> None:
        report.add(Diagnostic(severity, message, file, line, log))

    source = FileSource(main, str(directory), add)
    parent_reader = Reader(source, config_id, add, copy=source.copy)
    child_reader = Reader(CopySource(source.copy, main, str(directory)), config_id, add, copy=None)
    if seed is not None:
        parent_reader.seed(seed)
        child_reader.seed(seed)
    with time_limit(5):
        parent = _drain(parent_reader)
        child = _drain(child_reader)
    return Reading(parent, child, report)


def texts_at(lines: list[Line]) -> list[tuple[str, str | None, int | None]]:
    return [(line.text, line.file, line.line) for line in lines]


# -- physical lines ----------------------------------------------------------------------------------------


def test_blank_and_comment_only_lines_are_skipped_and_lines_are_counted(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "# hash comment\n! bang comment\n\n   \n\t\n  foo_a 1\nfoo_b\n")
    assert texts_at(reading.parent) == [("foo_a 1", MAIN, 6), ("foo_b", MAIN, 7)]
    assert texts_at(reading.child) == texts_at(reading.parent)
    assert reading.messages == []


def test_crlf_line_ends_are_stripped(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, b"foo_a 1\r\nfoo_b 2\r\n")
    assert texts_at(reading.parent) == [("foo_a 1", MAIN, 1), ("foo_b 2", MAIN, 2)]


def test_a_lone_carriage_return_does_not_end_a_line(tmp_path: Path) -> None:
    """keepalived reads with fgets, which only stops at `\\n`: `foo_a\\rfoo_b` is one line whose words are
    `foo_a` and `foo_b` (`\\r` is a blank to the tokenizer); keepalived reports `Unknown keyword 'foo_a'`
    only, at line 1, and the next line is line 2."""
    reading = read_lines(tmp_path, b"foo_a\rfoo_b\nfoo_c\n")
    assert texts_at(reading.parent) == [("foo_a\rfoo_b", MAIN, 1), ("foo_c", MAIN, 2)]


def test_a_nul_byte_ends_the_line(tmp_path: Path) -> None:
    """fgets reads the whole line but keepalived sees only the text before the NUL; the next line keeps its
    own line number (as in keepalived's children, which read the parent's copy)."""
    reading = read_lines(tmp_path, b"foo_d x\0foo_e\nfoo_f\n")
    assert texts_at(reading.parent) == [("foo_d x", MAIN, 1), ("foo_f", MAIN, 2)]
    assert texts_at(reading.child) == texts_at(reading.parent)


def test_last_line_without_newline_has_its_own_number(tmp_path: Path) -> None:
    """keepalived's parent does not count a last line without `\\n` (`(Line 1)` for line 2); its children,
    reading the copy, do (`(nonl.conf: Line 2)`)."""
    reading = read_lines(tmp_path, b"foo_a\nfoo_b")
    assert texts_at(reading.parent) == [("foo_a", MAIN, 1), ("foo_b", MAIN, 2)]
    assert texts_at(reading.child) == texts_at(reading.parent)


def test_an_over_long_line_is_cut_into_1023_byte_pieces_at_its_own_line(tmp_path: Path) -> None:
    """fgets(buf, 1024) cuts a long line into pieces read as separate lines. keepalived itself numbers them
    inconsistently (its parent says Line 0 for the first piece, its children shift the lines after it);
    hapair gives every piece the line it is on, so no message has line 0."""
    long_line = "foo_" + "x" * 1500 + " tail"
    reading = read_lines(tmp_path, f"{long_line}\nfoo_z\n")
    first, rest = long_line[: MAXBUF - 1], long_line[MAXBUF - 1 :]
    expected = [(first, MAIN, 1), (rest, MAIN, 1), ("foo_z", MAIN, 2)]
    assert texts_at(reading.parent) == expected
    assert texts_at(reading.child) == expected


# -- comments ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "logical"),
    [
        ("priority 100#comment-no-space", "priority 100"),
        ("auth_pass abc!def", "auth_pass abc"),
        ('auth_pass "abc!def"', 'auth_pass "abc!def"'),
        ('notification_email_from "x#y@z"', 'notification_email_from "x#y@z"'),
        ("router_id x   # trailing comment", "router_id x"),
        ('"a b@x"  ! bang comment', '"a b@x"'),
        ('x "a#b" c#d', 'x "a#b" c'),
        ('x "a" # "b"', 'x "a"'),
        # only double quotes protect a comment character
        ("x 'a#b'", "x 'a"),
        ("inhibit_on_failure ! comment", "inhibit_on_failure"),
        ("  \t lead and trail \t ", "lead and trail"),
        ("a\\\\#b", "a\\\\"),
    ],
)
def test_comments_start_anywhere_outside_double_quotes(tmp_path: Path, raw: str, logical: str) -> None:
    reading = read_lines(tmp_path, raw + "\n")
    assert reading.texts == [logical]
    assert reading.messages == []


@pytest.mark.parametrize(
    ("raw", "parent", "child"),
    [
        # the parent removes the backslash; the child decomments the copy again
        ("router_id a\\#b", "router_id a#b", "router_id a"),
        ("notification_email_from x\\!y@z", "notification_email_from x!y@z", "notification_email_from x"),
        ("notify_master /bin/echo\\#x", "notify_master /bin/echo#x", "notify_master /bin/echo"),
        ("notify_backup /bin/echo a\\#b c", "notify_backup /bin/echo a#b c", "notify_backup /bin/echo a"),
        # inside double quotes the backslash stays, for the command tokenizer
        (
            'notify_fault "/bin/echo a\\#b c"',
            'notify_fault "/bin/echo a\\#b c"',
            'notify_fault "/bin/echo a\\#b c"',
        ),
        (
            'notify_fault "/bin/echo a\\!b"',
            'notify_fault "/bin/echo a\\!b"',
            'notify_fault "/bin/echo a\\!b"',
        ),
    ],
)
def test_escaped_comment_characters_survive_only_the_first_reading(
    tmp_path: Path, raw: str, parent: str, child: str
) -> None:
    """lex3_escape_global.conf (router_id a\\#b -> a#b, read by the parent) and lex3_escape_notify.conf
    (notify_master /bin/echo\\#x -> /usr/bin/echo, read by the VRRP child)."""
    reading = read_lines(tmp_path, raw + "\n")
    assert [line.text for line in reading.parent] == [parent]
    assert [line.text for line in reading.child] == [child]


def test_hash_and_bang_parameters_only_work_inside_quotes(tmp_path: Path) -> None:
    """lex3_hash_builtin.conf: after substitution the line is decommented again."""
    reading = read_lines(
        tmp_path,
        """\
        router_id r${_HASH}x
        notify_master "/bin/echo a${_HASH}b"
        notify_backup /bin/echo${_HASH}b
        notify_fault "/bin/echo a${_BANG}b"
        ${_BANG} whole line
        """,
    )
    assert reading.texts == [
        "router_id r",
        'notify_master "/bin/echo a#b"',
        "notify_backup /bin/echo",
        'notify_fault "/bin/echo a!b"',
    ]


def test_unterminated_quote_is_reported_and_the_line_kept(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, 'foo_a 1\nfoo "abc # not a comment\n')
    assert reading.texts == ["foo_a 1", 'foo "abc # not a comment']
    assert reading.messages == [
        (Severity.GENERAL_ERROR, "Unterminated quote 'foo \"abc # not a comment'", MAIN, 2)
    ]


@pytest.mark.parametrize(
    ("raw", "parent", "child"),
    [
        ("advert_int 1 \\", "advert_int 1\\", "advert_int 1\\"),
        ("advert_int 1\t\\", "advert_int 1\\", "advert_int 1\\"),
        # a backslash followed by a blank is not at the end of the line: the blank before it stays, until the
        # child decomments the copy, where the backslash is last
        ("advert_int 1 \\ ", "advert_int 1 \\", "advert_int 1\\"),
    ],
)
def test_trailing_backslash_is_kept_and_does_not_continue_the_line(
    tmp_path: Path, raw: str, parent: str, child: str
) -> None:
    """lex2.conf: `advert_int 1 \\` gave `invalid number '1\\'`; the next line is read on its own."""
    reading = read_lines(tmp_path, f"{raw}\nauthentication {{\n")
    assert [line.text for line in reading.parent] == [parent, "authentication", "{"]
    assert [line.text for line in reading.child] == [child, "authentication", "{"]


# -- braces ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "logical"),
    [
        ("vrrp_instance X { state BACKUP", ["vrrp_instance X", "{", "state BACKUP"]),
        ('} notify_master "/bin/echo a!b#c"', ["}", 'notify_master "/bin/echo a!b#c"']),
        ("virtual_ipaddress { 10.0.0.1/24 }", ["virtual_ipaddress", "{", "10.0.0.1/24", "}"]),
        ("{", ["{"]),
        ("{ a }", ["{", "a", "}"]),
        ("a}b", ["a", "}", "b"]),
        ("a  {  b  ", ["a", "{", "b"]),
        ("x { y { z } }", ["x", "{", "y", "{", "z", "}", "}"]),
        ('foo "a{b}" {', ['foo "a{b}"', "{"]),
        ("virtual_router_id 79 }", ["virtual_router_id 79", "}"]),
    ],
)
def test_braces_outside_quotes_split_lines(tmp_path: Path, raw: str, logical: list[str]) -> None:
    reading = read_lines(tmp_path, f"{raw}\nfoo_end\n")
    assert reading.texts == [*logical, "foo_end"]
    assert [line.line for line in reading.parent] == [1] * len(logical) + [2]


def test_brace_after_an_unterminated_quote_does_not_split(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, 'foo "abc {\n')
    assert reading.texts == ['foo "abc {']


def test_extra_closing_brace_is_reported_where_it_is(tmp_path: Path) -> None:
    """keepalived: `(Line 1) Extra '}' found` for `}` and again for `foo_1 }` on line 2."""
    reading = read_lines(tmp_path, "}\nfoo_1 }\na {\n}\n}\n")
    assert reading.texts == ["}", "foo_1", "}", "a", "{", "}", "}"]
    assert reading.messages == [
        (Severity.UNEXPECTED_EOB, "Extra '}' found", MAIN, 1),
        (Severity.UNEXPECTED_EOB, "Extra '}' found", MAIN, 2),
        (Severity.UNEXPECTED_EOB, "Extra '}' found", MAIN, 5),
    ]


def test_missing_closing_braces_are_reported_once_without_a_place(read_config: ReadConfig) -> None:
    """configtest_t2.conf: `There are 1 missing '}'s or extra '{'s`, printed without a place (keepalived
    prints it once per process; hapair once)."""
    result = read_config("foo_blk {\n  foo_in {\n    foo_leaf 1\n")
    missing = [d for d in result.report if d.message == "There are 2 missing '}'s or extra '{'s"]
    assert [(d.severity, d.file, d.line) for d in missing] == [(Severity.MISSING_EOB, None, None)]
    assert result.exit_status == 5


def test_extra_brace_at_top_level_is_also_an_unknown_keyword(read_config: ReadConfig) -> None:
    result = read_config("}\nfoo_1 }\n")
    assert [(d.message, d.line) for d in result.report] == [
        ("Extra '}' found", 1),
        ("Unknown keyword '}'", 1),
        ("Unknown keyword 'foo_1'", 2),
        ("Extra '}' found", 2),
        ("Unknown keyword '}'", 2),
    ]


# -- include -----------------------------------------------------------------------------------------------


def test_include_glob_reads_matches_in_sorted_order_with_their_names(tmp_path: Path) -> None:
    reading = read_lines(
        tmp_path,
        "foo_main 1\ninclude inc.d/*.conf\nfoo_main 3\n",
        files={"inc.d/b.conf": "foo_b 1\n\nfoo_b 3\n", "inc.d/a.conf": "foo_a 1\n", "inc.d/c.txt": "x\n"},
    )
    expected = [
        ("foo_main 1", MAIN, 1),
        ("foo_a 1", "inc.d/a.conf", 1),
        ("foo_b 1", "inc.d/b.conf", 1),
        ("foo_b 3", "inc.d/b.conf", 3),
        ("foo_main 3", MAIN, 3),
    ]
    assert texts_at(reading.parent) == expected
    assert texts_at(reading.child) == expected
    assert reading.messages == []


def test_include_brace_alternatives_keep_their_order(tmp_path: Path) -> None:
    """keepalived: `include {b,a}.conf` reads b.conf then a.conf; `[ab].conf` reads a.conf then b.conf."""
    files = {"a.conf": "foo_a\n", "b.conf": "foo_b\n"}
    assert read_lines(tmp_path, "include {b,a}.conf\n", files=files).texts == ["foo_b", "foo_a"]
    assert read_lines(tmp_path, "include [ba].conf\n", files=files).texts == ["foo_a", "foo_b"]
    assert read_lines(tmp_path, "include {b,{a,c}}.conf\n", files={**files, "c.conf": "foo_c\n"}).texts == [
        "foo_b",
        "foo_a",
        "foo_c",
    ]


def test_includes_are_relative_to_the_including_file_and_nest(tmp_path: Path) -> None:
    """keepalived chdirs into an included file's directory: sub/x.conf's `include y.conf` is sub/y.conf,
    named `y.conf` in messages."""
    reading = read_lines(
        tmp_path,
        "foo_m\ninclude sub/x.conf\nfoo_m2\n",
        files={"sub/x.conf": "foo_x\ninclude y.conf\nfoo_x2\n", "sub/y.conf": "foo_y\n", "y.conf": "wrong\n"},
    )
    expected = [
        ("foo_m", MAIN, 1),
        ("foo_x", "sub/x.conf", 1),
        ("foo_y", "y.conf", 1),
        ("foo_x2", "sub/x.conf", 3),
        ("foo_m2", MAIN, 3),
    ]
    assert texts_at(reading.parent) == expected
    assert texts_at(reading.child) == expected


def test_pwd_is_the_directory_of_the_file_being_read(tmp_path: Path) -> None:
    reading = read_lines(
        tmp_path,
        '"${_PWD}"\ninclude sub/x.conf\n"${_PWD}"\n',
        files={"sub/x.conf": '"${_PWD}"\n'},
    )
    assert reading.texts == [f'"{tmp_path}"', f'"{tmp_path / "sub"}"', f'"{tmp_path}"']


@pytest.mark.parametrize("keyword", ["include", "includer", "includem", "includew", "includeb", "includea"])
def test_include_keywords(tmp_path: Path, keyword: str) -> None:
    reading = read_lines(tmp_path, f"{keyword} a.conf\n", files={"a.conf": "foo_a\n"})
    assert reading.texts == ["foo_a"]


@pytest.mark.parametrize("line", ["includex a.conf", "include", "includes", "@nodeB include a.conf"])
def test_lines_that_are_not_includes(tmp_path: Path, line: str) -> None:
    reading = read_lines(tmp_path, f"{line}\n", files={"a.conf": "foo_a\n"})
    assert "foo_a" not in reading.texts


def test_include_after_conditional_and_parameter_processing(tmp_path: Path) -> None:
    """keepalived checks for `include` after the `@id` and `$NAME` processing, so both work."""
    files = {"a.conf": "foo_a\n", "b.conf": "foo_b\n"}
    text = "@nodeA include a.conf\n$INC=include b.conf\n$INC\nfoo_end\n"
    reading = read_lines(tmp_path, text, files=files)
    assert texts_at(reading.parent) == [("foo_a", "a.conf", 1), ("foo_b", "b.conf", 1), ("foo_end", MAIN, 4)]


def test_a_conditional_include_is_read_once_by_the_children(tmp_path: Path) -> None:
    """keepalived's children see such an include both in the parent's copy and by opening the file again
    (so a vrrp_instance in it is `already defined`): a keepalived bug hapair does not reproduce."""
    reading = read_lines(tmp_path, "@nodeA include a.conf\n", files={"a.conf": "foo_a\n"})
    assert texts_at(reading.child) == [("foo_a", "a.conf", 1)]


# include_check: what each include type makes an error. Messages and severities as keepalived -t printed them;
# OK severity is printed too but does not change the exit status.
INCLUDE_CASES = [
    ("include missing.conf", "Config files missing 'missing.conf'.", Severity.OK),
    ("includer missing.conf", "Config files missing 'missing.conf'.", Severity.OK),
    ("includem missing.conf", "Config files missing 'missing.conf'.", Severity.FILE_NOT_FOUND),
    ("includew missing.conf", "Config files missing 'missing.conf'.", Severity.FILE_NOT_FOUND),
    ("includea missing.conf", "Config files missing 'missing.conf'.", Severity.FILE_NOT_FOUND),
    ("include nodir/*.conf", "Config files missing 'nodir/*.conf'.", Severity.OK),
    ("includem nodir/*.conf", "Config files missing 'nodir/*.conf'.", Severity.FILE_NOT_FOUND),
    ("includew nomatch*.conf", "No config files matched 'nomatch*.conf'.", Severity.FILE_NOT_FOUND),
    ("includew adir/*.conf", "No config files matched 'adir/*.conf'.", Severity.FILE_NOT_FOUND),
    ("include nodir/x.conf", "Config files missing 'nodir/x.conf'.", Severity.OK),
    ("includew {a,b}.nope", "Config files missing '{a,b}.nope'.", Severity.OK),
    (
        "includeb {missing,other}.conf",
        "Config files missing '{missing,other}.conf'.",
        Severity.FILE_NOT_FOUND,
    ),
    ("includem {missing,other}.conf", "Config files missing '{missing,other}.conf'.", Severity.OK),
    ("include {a,missing}.conf", 'Some config files missing: "{a,missing}.conf".', Severity.OK),
    ("includem {a,missing}.conf", 'Some config files missing: "{a,missing}.conf".', Severity.OK),
    ("includeb {a,missing}.conf", 'Some config files missing: "{a,missing}.conf".', Severity.FILE_NOT_FOUND),
    ("includea {a,missing}.conf", 'Some config files missing: "{a,missing}.conf".', Severity.FILE_NOT_FOUND),
    ("include adir", "Configuration file 'adir/' is a directory - skipping", Severity.OK),
    ("includer adir", "Configuration file 'adir/' is a directory - skipping", Severity.FILE_NOT_FOUND),
    (
        "include exec.conf",
        "Configuration file 'exec.conf' is not a regular non-executable file - skipping",
        Severity.OK,
    ),
    (
        "includer exec.conf",
        "Configuration file 'exec.conf' is not a regular non-executable file - skipping",
        Severity.FILE_NOT_FOUND,
    ),
]


def _include_fixtures(directory: Path) -> None:
    write_files(directory, {"a.conf": "foo_a\n"})
    (directory / "adir").mkdir(exist_ok=True)
    (directory / "exec.conf").write_text("foo_exec\n")
    (directory / "exec.conf").chmod(0o755)


@pytest.mark.parametrize(("line", "message", "severity"), INCLUDE_CASES)
def test_include_errors(tmp_path: Path, line: str, message: str, severity: Severity) -> None:
    _include_fixtures(tmp_path)
    reading = read_lines(tmp_path, f"foo_first\n{line}\n")
    assert reading.messages == [(severity, message, MAIN, 2)]
    # the glob's files that exist are still read, unless the error stopped the whole include
    expected = ["foo_first"] + (["foo_a"] if "{a,missing}" in line and severity == Severity.OK else [])
    assert reading.texts == expected


def test_include_with_no_match_and_no_check_is_silent(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    reading = read_lines(tmp_path, "include nomatch*.conf\ninclude nomatch*/x.conf\ninclude adir/*.conf\n")
    assert reading.texts == []
    assert reading.messages == []


@pytest.mark.parametrize(("line", "message", "severity"), INCLUDE_CASES)
def test_include_errors_exit_status(
    read_config: ReadConfig, tmp_path: Path, line: str, message: str, severity: Severity
) -> None:
    """keepalived -t: an include error the include type makes fatal ends keepalived after the parent's
    reading, with only the parent's messages and exit status 6 (KEEPALIVED_EXIT_NO_CONFIG, which `-t` also
    uses for script security); hapair stops there too but exits 4, `-t`'s status for a missing file.
    Otherwise the message is printed and the exit status is what the rest of the configuration gives."""
    _include_fixtures(tmp_path)
    result = read_config(f"{line}\n")
    assert message in errors(result)
    assert result.exit_status == (
        FATAL_FILE_STATUS if severity == Severity.FILE_NOT_FOUND else 5 if "{a,missing}" in line else 0
    )


def test_fatal_include_error_stops_after_the_parent_reading(read_config: ReadConfig) -> None:
    """keepalived: `foo_1`, `includem missing.conf`, a vrrp_instance: only the parent's messages, rc 6
    (hapair: 4, see FATAL_FILE_STATUS)."""
    result = read_config("foo_1\nincludem missing.conf\nvrrp_instance X {\n interface eth9\n bogus_z\n}\n")
    assert errors(result) == ["Unknown keyword 'foo_1'", "Config files missing 'missing.conf'."]
    assert result.exit_status == FATAL_FILE_STATUS


@pytest.mark.parametrize(
    ("text", "messages", "status"),
    [
        (
            "global_defs {\n include_check\n}\ninclude missing.conf\n",
            ["Config files missing 'missing.conf'."],
            FATAL_FILE_STATUS,
        ),
        # include_check lasts to the end of the file it is in
        ("include check.conf\ninclude missing.conf\n", ["Config files missing 'missing.conf'."], 0),
        (
            "global_defs {\n include_check match\n}\ninclude nomatch*.conf\ninclude missing.conf\n",
            ["Config files missing 'missing.conf'."],
            FATAL_FILE_STATUS,
        ),
        (
            "global_defs {\n include_check +wildcard_match -match bogus\n}\ninclude nomatch*.conf\n",
            [
                "Duplicate include_check 'bogus' specified - ignoring",
                "No config files matched 'nomatch*.conf'.",
            ],
            FATAL_FILE_STATUS,
        ),
    ],
)
def test_include_check(read_config: ReadConfig, text: str, messages: list[str], status: int) -> None:
    """As keepalived -t printed them."""
    result = read_config(text, files={"check.conf": "global_defs {\n include_check\n}\n"})
    assert errors(result) == messages
    assert result.exit_status == status


def test_self_include_is_refused_once(tmp_path: Path) -> None:
    """keepalived includes the file again until it runs out of file descriptors, then reports
    `Configuration file 'self.conf' open problem (Too many open files) - skipping` and unwinds (and two
    self-includes take exponential time); hapair refuses to open a file it is already reading."""
    reading = read_lines(tmp_path, "foo_a 1\ninclude self.conf\nfoo_b 2\n", main="self.conf")
    assert reading.messages == [
        (Severity.OK, "Configuration file 'self.conf' includes itself - skipping", "self.conf", 2)
    ]
    assert reading.parent[0] == Line("foo_a 1", "self.conf", 1)
    assert reading.parent[-1] == Line("foo_b 2", "self.conf", 3)


def test_a_glob_s_next_match_is_opened_from_the_include_s_line(tmp_path: Path) -> None:
    """Once a match is read it is no longer being read: the same file matched again is read again, and a
    later match's problem is placed at the include, not in the match before it (an empty one: line 0)."""
    files = {"empty.conf": "", "a.conf": "foo_a 1\n", "dir.d/x.conf": "foo_x 1\n"}
    reading = read_lines(tmp_path, "foo_m 1\ninclude {empty,a,a}.conf\n", files=files)
    assert [line.text for line in reading.parent] == ["foo_m 1", "foo_a 1", "foo_a 1"]
    assert reading.messages == []
    (tmp_path / "dir.d" / "x.conf").chmod(0o755)  # executable: refused
    reading = read_lines(tmp_path, "foo_m 1\ninclude {empty,dir.d/x}.conf\n", files=files)
    message = "Configuration file 'dir.d/x.conf' is not a regular non-executable file - skipping"
    assert reading.messages == [(Severity.OK, message, MAIN, 2)]


# -- $NAME=VALUE, $NAME, ${NAME} ---------------------------------------------------------------------------


def test_parameters_are_substituted(tmp_path: Path) -> None:
    """keepalived: `Unknown keyword '1 alpha alphax $Ax b1 b2||$UNDEF|${UNDEF}|alpha,alpha)'`."""
    reading = read_lines(
        tmp_path,
        '$A=alpha\n$B= b1 b2 \n$E=\n"1 $A ${A}x $Ax ${B}|${E}|$UNDEF|${UNDEF}|$A,$A)"\n',
    )
    assert reading.texts == ['"1 alpha alphax $Ax b1 b2||$UNDEF|${UNDEF}|alpha,alpha)"']
    assert reading.parent[0].line == 4


def test_parameters_bind_late_and_can_be_redefined(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "k $A\n$A=x\nk ${A}\n$A=y\nk $A\n")
    assert reading.texts == ["k $A", "k x", "k y"]


@pytest.mark.parametrize(
    "line",
    ["$A =x", "$1A=x", "$A-B=x", "$=x"],
)
def test_lines_that_are_not_definitions(tmp_path: Path, line: str) -> None:
    reading = read_lines(tmp_path, f"{line}\n")
    assert reading.texts == [line]


def test_substitution_is_recursive(tmp_path: Path) -> None:
    """keepalived: `'3 alphaalpha alphaalpha '` and `'4 alpha$A'` (the inner `$A` is followed by `"`)."""
    reading = read_lines(tmp_path, '$A=alpha\n$R=${A}$A\n$S=${R}\n"3 ${R} ${S} "\n"4 ${S}"\n')
    assert reading.texts == ['"3 alphaalpha alphaalpha "', '"4 alpha$A"']


def test_substituted_text_is_decommented_again(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, '$H=a\\#b\nk $H\nk "${H}"\n$Q=q # comment\nk $Q\n')
    assert [line.text for line in reading.parent] == ["k a", 'k "a#b"', "k q"]
    # the copy holds the definition as `$H=a#b`, which the child decomments to `$H=a`
    assert [line.text for line in reading.child] == ["k a", 'k "a"', "k q"]


def test_substituted_conditional_is_applied(tmp_path: Path) -> None:
    """keepalived 2.2.7 aborts here (`double free or corruption`); hapair applies the `@id`."""
    reading = read_lines(tmp_path, '$Q=@nodeA "6 q"\n$Q\n$R=@nodeB no\n$R\n')
    assert texts_at(reading.parent) == [('"6 q"', MAIN, 2)]


def test_multiline_definition_expands_only_alone_on_its_line(tmp_path: Path) -> None:
    """keepalived: a blank line ends the definition, `$M`/`${M}` alone expand, `x $M` does not."""
    reading = read_lines(
        tmp_path,
        '$M= \\\n  "m1 a" \\\n\n  "m2 b"\n"before"\n$M\n"mid"\n${M}\n"x $M"\n$N=\\\n"after"\n"n $N"\n',
    )
    assert texts_at(reading.parent) == [
        ('"m2 b"', MAIN, 4),
        ('"before"', MAIN, 5),
        ('"m1 a"', MAIN, 6),
        ('"mid"', MAIN, 7),
        ('"m1 a"', MAIN, 8),
        ('"x $M"', MAIN, 9),
        ('"n $N"', MAIN, 12),
    ]


def test_multiline_definition_evidence(tmp_path: Path) -> None:
    """lex_main.conf's $MULTI gave VI_LEX its virtual_ipaddress 10.77.0.200/24."""
    reading = read_lines(
        tmp_path,
        "$VIPBASE=10.77.0\n$MULTI= \\\n    virtual_ipaddress { \\\n        ${VIPBASE}.200/24 \\\n    }\n"
        "    $MULTI\n",
    )
    assert texts_at(reading.parent) == [
        ("virtual_ipaddress", MAIN, 6),
        ("{", MAIN, 6),
        ("10.77.0.200/24", MAIN, 6),
        ("}", MAIN, 6),
    ]


def test_comment_line_inside_multiline_definition_differs_between_readings(tmp_path: Path) -> None:
    """The parent skips a comment line inside the definition; the copy has an empty line there, which ends
    the definition for the children (keepalived prints both sets of messages)."""
    reading = read_lines(tmp_path, "$M= \\\n  m_1 \\\n# comment\n  m_2 \\\n  \\\n  m_3\n$M\n")
    assert texts_at(reading.parent) == [("m_1", MAIN, 7), ("m_2", MAIN, 7), ("m_3", MAIN, 7)]
    assert texts_at(reading.child) == [
        ("m_2\\", MAIN, 4),
        ("\\", MAIN, 5),
        ("m_3", MAIN, 6),
        ("m_1", MAIN, 7),
    ]


def test_nested_multiline_definitions(tmp_path: Path) -> None:
    reading = read_lines(
        tmp_path, "$IN= \\\n  in_1 \\\n  in_2\n$OUT= \\\n  out_1 \\\n  $IN \\\n  out_2\n$OUT\n"
    )
    assert reading.texts == ["out_1", "in_1", "in_2", "out_2"]


def test_self_referencing_parameter_ends_with_a_message(tmp_path: Path) -> None:
    """keepalived loops for ever on `$A=$A`; hapair reports the line and drops it, then reads on normally."""
    reading = read_lines(tmp_path, "$A=$A\n$B=ok\nfoo $A\nbar $B\n")
    assert reading.texts == ["bar ok"]
    assert reading.messages == [
        (Severity.GENERAL_ERROR, "Parameter substitution on line 'foo $A' does not terminate", MAIN, 3)
    ]


def test_mutually_recursive_parameters_end(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "$B=x$C\n$C=y$B\nk $B\nfoo_end\n")
    assert reading.texts == ["foo_end"]
    ((severity, message, file, line),) = reading.messages
    assert (severity, file, line) == (Severity.GENERAL_ERROR, MAIN, 3)
    assert message.startswith("Parameter substitution on line 'k xyxy")
    assert message.endswith("' does not terminate")


def test_substitution_stops_at_the_maximum_line_length(tmp_path: Path) -> None:
    """keepalived logs the line and keeps what it had substituted so far."""
    value = "a" * 500
    reading = read_lines(tmp_path, f"$A={value}\nk $A $A $A\n")
    assert reading.texts == [f"k {value} {value} $A"]
    assert reading.log_messages == [
        f"Parameter substitution on line 'k {value} {value} $A' would exceed maximum line length"
    ]
    assert reading.messages == []


def test_substitution_regrowing_after_each_brace_ends_with_a_message(tmp_path: Path) -> None:
    """The text after a brace is substituted again when it is read: keepalived 2.2.7 never ends here
    (`Unknown keyword '$'`, `Unexpected '{'` … for ever); hapair must stop with a message."""
    reading = read_lines(tmp_path, "$A=${D}\n$D=${A}${A}\nk ${A}\nfoo_end\n")
    assert reading.parent[-1] == Line("foo_end", MAIN, 4)
    assert any(
        severity == Severity.GENERAL_ERROR
        and message.startswith("Parameter substitution on line '")
        and message.endswith("' does not terminate")
        and line == 3
        for severity, message, _, line in reading.messages
    )


# -- built-in parameters ------------------------------------------------------------------------------------


def test_builtin_parameters(tmp_path: Path) -> None:
    reading = read_lines(
        tmp_path,
        '"1 ${_PWD}"\n"2 ${_INSTANCE}"\n"3 ${_HASH} ${_BANG}"\nh${_HASH}x\n',
        config_id="inst1",
    )
    assert reading.texts == [f'"1 {tmp_path}"', '"2 inst1"', '"3 # !"', "h"]


def test_builtin_parameters_can_be_redefined(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, '$_HASH=H\n"${_HASH}"\n$_PWD=here\n"${_PWD}"\n')
    assert reading.texts == ['"H"', '"here"']


def test_random(tmp_path: Path) -> None:
    reading = read_lines(
        tmp_path,
        "${_RANDOM}\n${_RANDOM 5 5}\n${_RANDOM 3 4}\n${_RANDOM 32760}\n${_RANDOM 7 7 9}\n",
        seed=1,
    )
    default, fixed, pair, from_low, extra = (int(text) for text in reading.texts)
    assert 0 <= default <= 32767
    assert fixed == 5
    assert pair in (3, 4)
    assert 32760 <= from_low <= 32767
    assert extra == 7
    assert reading.log_messages == ["Too many parameters or extra text for ${_RANDOM 7 7 9}"]


@pytest.mark.parametrize("use", ["${_RANDOM x}", "${_RANDOM 5 }", "${_PWD 1}", "${_RANDOM -1}"])
def test_builtin_with_bad_parameters_is_left_verbatim(tmp_path: Path, use: str) -> None:
    reading = read_lines(tmp_path, f'k "{use}"\n')
    assert reading.texts == [f'k "{use}"']


def test_random_inside_a_line(tmp_path: Path) -> None:
    """keepalived 2.2.7 corrupts the line when `${_RANDOM a b}` is not at its end (it moves only part of the
    text after it); hapair substitutes it like any parameter."""
    reading = read_lines(tmp_path, '"4 ${_RANDOM 5 5}" end\n')
    assert reading.texts == ['"4 5" end']


# -- @id and @^id -------------------------------------------------------------------------------------------


CONDITIONAL_LINES = """\
@nodeA 1 yes
@nodeB 2 no
@^nodeA 3 no
@^nodeB 4 yes
@nodeA\t5 tab
@nodeA
@^nodeB
@node 6 prefix
blk {
    @^nodeC 7 nested
}
"""


@pytest.mark.parametrize(
    ("config_id", "kept"),
    [
        ("nodeA", ["1 yes", "4 yes", "5 tab", "blk", "{", "7 nested", "}"]),
        ("nodeB", ["2 no", "3 no", "blk", "{", "7 nested", "}"]),
        ("node", ["3 no", "4 yes", "6 prefix", "blk", "{", "7 nested", "}"]),
        # without an id no `@id` line matches and every `@^id` line does
        (None, ["3 no", "4 yes", "blk", "{", "7 nested", "}"]),
    ],
)
def test_conditional_lines(tmp_path: Path, config_id: str | None, kept: list[str]) -> None:
    reading = read_lines(tmp_path, CONDITIONAL_LINES, config_id=config_id)
    assert reading.texts == kept


def test_config_id_defaults_to_the_short_host_name(read_config: ReadConfig) -> None:
    """lab_host is node1.example: without -i, `@node1` lines are kept and `@^node1` lines dropped."""
    result = read_config("@node1 foo_kept\n@^node1 foo_dropped\n@node1.example foo_long\n")
    assert errors(result) == ["Unknown keyword 'foo_kept'"]
    assert errors(read_config("@x foo_x\n@^x foo_y\n", config_id="x")) == ["Unknown keyword 'foo_x'"]


def test_conditional_definition(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, '@nodeA $P=p1\n@^nodeA $P=p2\n"5 ${P}"\n')
    assert reading.texts == ['"5 p1"']


def test_conditional_conf_sample(tmp_path: Path) -> None:
    sample = (SAMPLES / "keepalived.conf.conditional_conf").read_text()
    high = [
        line
        for line in read_lines(tmp_path, sample, config_id="high").texts
        if "high" in line or "low" in line
    ]
    low = [
        line
        for line in read_lines(tmp_path, sample, config_id="low").texts
        if "high" in line or "low" in line
    ]
    assert high == ["net_namespace high", "script /etc/keepalived/scripts/check_high_VI_0.sh"]
    assert low == ["net_namespace low", "script /etc/keepalived/scripts/check_low_VI_0.sh"]


# -- ~SEQ and ~LST ------------------------------------------------------------------------------------------


def test_seq(tmp_path: Path) -> None:
    """Values as keepalived printed them (`Unknown keyword 'baz_14'` …)."""
    reading = read_lines(
        tmp_path,
        "~SEQ(N, 3) foo_$N\n~SEQ(M, 5, 4) bar_$M\n~SEQ(K, 0x0e, 2, 0x12) baz_$K\n~SEQx(H, 9, 11) hex_$H\n"
        "~SEQ(Z, -2) neg_$Z\n~SEQ ( Q , 1 , 1 )  q_${Q}\n",
    )
    assert texts_at(reading.parent) == [
        ("foo_1", MAIN, 1),
        ("foo_2", MAIN, 1),
        ("foo_3", MAIN, 1),
        ("bar_5", MAIN, 2),
        ("bar_4", MAIN, 2),
        ("baz_14", MAIN, 3),
        ("baz_16", MAIN, 3),
        ("baz_18", MAIN, 3),
        ("hex_9", MAIN, 4),
        ("hex_a", MAIN, 4),
        ("hex_b", MAIN, 4),
        ("neg_-1", MAIN, 5),
        ("neg_-2", MAIN, 5),
        ("q_1", MAIN, 6),
    ]
    assert texts_at(reading.child) == texts_at(reading.parent)


def test_seq_evidence_inside_a_block(tmp_path: Path) -> None:
    """lex_main.conf: `~SEQ(N, 1, 3) 10.77.1.${N}/32` gave the excluded VIPs 10.77.1.1-3."""
    reading = read_lines(
        tmp_path,
        "virtual_ipaddress_excluded {\n~SEQ(N, 1, 3) 10.77.1.${N}/32\n"
        "        10.77.2.1/32 dev eth0 scope link label eth0:x\n}\n",
    )
    assert reading.texts == [
        "virtual_ipaddress_excluded",
        "{",
        "10.77.1.1/32",
        "10.77.1.2/32",
        "10.77.1.3/32",
        "10.77.2.1/32 dev eth0 scope link label eth0:x",
        "}",
    ]


def test_seq_parameters_from_definitions(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "$S=~SEQ(I, 2) s_$I\n$S\n$T=3\n~SEQ(J, $T) t_$J\n~SEQ(K, ${T}) u_$K\n")
    assert reading.texts == ["s_1", "s_2", "t_1", "t_2", "t_3", "u_1", "u_2", "u_3"]


def test_seq_of_a_multiline_definition(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "$M= \\\na_$I \\\nb_$I\n~SEQ(I, 2) $M\nfoo_end\n")
    assert texts_at(reading.parent) == [
        ("a_1", MAIN, 4),
        ("b_1", MAIN, 4),
        ("a_2", MAIN, 4),
        ("b_2", MAIN, 4),
        ("foo_end", MAIN, 5),
    ]


def test_nested_seq_and_lst(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "~SEQ(I, 2) ~LST(J, a, b) n_${I}_$J\n~SEQ(X, 2) ~SEQ(Y, 2) p_${X}${Y}\n")
    assert reading.texts == ["n_1_a", "n_1_b", "n_2_a", "n_2_b", "p_11", "p_12", "p_21", "p_22"]


def test_lst(tmp_path: Path) -> None:
    reading = read_lines(
        tmp_path,
        "~LST(A, x, y) l_$A\n~LST({A,B}, {1,2}, {3}) m_${A}_${B}_\n~LST({A,B}, 1, {2}) r_${A}_${B}_\n",
    )
    assert reading.texts == ["l_x", "l_y", "m_1_2_", "m_3__", "r_1__", "r_2__"]


@pytest.mark.parametrize(
    ("line", "messages"),
    [
        (
            "~SEQ(N) foo",
            ["Invalid ~SEQ definition '~SEQ(N) foo'", "Invalid ~SEQ specification '~SEQ(N) foo'"],
        ),
        (
            "~SEQ(N, 1, 0, 3) x",
            ["Invalid ~SEQ values '~SEQ(N, 1, 0, 3) x'", "Invalid ~SEQ specification '~SEQ(N, 1, 0, 3) x'"],
        ),
        (
            "~SEQ(N, 3, 1, 1) y",
            ["Invalid ~SEQ values '~SEQ(N, 3, 1, 1) y'", "Invalid ~SEQ specification '~SEQ(N, 3, 1, 1) y'"],
        ),
        (
            "~SEQx(N, -3, 1) z",
            [
                "~SEQx is only valid for positive numbers '~SEQx(N, -3, 1) z'",
                "Invalid ~SEQ specification '~SEQx(N, -3, 1) z'",
            ],
        ),
        ("~SEQ N, 3 w", ["Invalid ~SEQ specification '~SEQ N, 3 w'"]),
        (
            "~SEQ(I, $M) a",
            ["Invalid ~SEQ definition '~SEQ(I, $M) a'", "Invalid ~SEQ specification '~SEQ(I, $M) a'"],
        ),
        ("~LST(A) q", ["Invalid ~LST specification '~LST(A) q'"]),
        (
            "~LST({A,B}, {1,2,3}) q",
            [
                "~LST specification has too many values '~LST({A,B}, {1,2,3}) q'",
                "Invalid ~LST specification '~LST({A,B}, {1,2,3}) q'",
            ],
        ),
    ],
)
def test_seq_and_lst_errors(tmp_path: Path, line: str, messages: list[str]) -> None:
    """Messages as keepalived printed them. After a bad ~LST keepalived 2.2.7 emits the previous ~LST's
    lines again (a bug hapair does not reproduce)."""
    reading = read_lines(tmp_path, f"$M= \\\nx \\\ny\n~LST(A, x) l_$A\n{line}\nfoo_end\n")
    assert reading.texts == ["l_x", "foo_end"]
    assert reading.messages == [(Severity.GENERAL_ERROR, message, MAIN, 5) for message in messages]


def test_seq_too_long_is_refused(tmp_path: Path) -> None:
    reading = read_lines(tmp_path, "~SEQ(I, 200001) x\nfoo_end\n")
    assert reading.texts == ["foo_end"]
    assert reading.messages == [
        (Severity.GENERAL_ERROR, "~SEQ would produce 200001 lines, more than hapair's 100000", MAIN, 1),
        (Severity.GENERAL_ERROR, "Invalid ~SEQ specification '~SEQ(I, 200001) x'", MAIN, 1),
    ]


# -- the recorded experiments -------------------------------------------------------------------------------


@pytest.fixture
def lex_main(tmp_path: Path) -> Reading:
    shutil.copy(EVIDENCE / "lex_main.conf", tmp_path / "lex_main.conf")
    shutil.copytree(EVIDENCE / "lex_inc.d", tmp_path / "inc.d")
    for path in (tmp_path / "inc.d").iterdir():
        path.chmod(0o644)
    return read_lines(tmp_path, None, main="lex_main.conf")


LEX_MAIN_PARENT = [
    ("global_defs", "lex_main.conf", 12),
    ("{", "lex_main.conf", 12),
    ("router_id nodeA_id", "lex_main.conf", 13),
    ("notification_email", "lex_main.conf", 14),
    ("{", "lex_main.conf", 14),
    ('"a b@x"', "lex_main.conf", 15),
    ("}", "lex_main.conf", 16),
    ('notification_email_from "x#y@z"', "lex_main.conf", 17),
    ("}", "lex_main.conf", 18),
    ("vrrp_script chk_a", "inc.d/a.conf", 1),
    ("{", "inc.d/a.conf", 1),
    ('script "/bin/echo \\"quoted\\" \'single quoted\' #notcomment"', "inc.d/a.conf", 2),
    ("interval 3", "inc.d/a.conf", 3),
    ("}", "inc.d/a.conf", 4),
    ("vrrp_instance VI_INC", "inc.d/b.conf", 1),
    ("{", "inc.d/b.conf", 1),
    ("interface eth0", "inc.d/b.conf", 2),
    ("virtual_router_id 80", "inc.d/b.conf", 3),
    ("track_script", "inc.d/b.conf", 4),
    ("{", "inc.d/b.conf", 4),
    ("chk_a weight -10", "inc.d/b.conf", 5),
    ("}", "inc.d/b.conf", 6),
    ("virtual_ipaddress", "inc.d/b.conf", 7),
    ("{", "inc.d/b.conf", 7),
    ("10.77.0.210/24 10.77.0.211/24", "inc.d/b.conf", 7),
    ("}", "inc.d/b.conf", 7),
    ("}", "inc.d/b.conf", 8),
    ("vrrp_instance VI_LEX", "lex_main.conf", 20),
    ("{", "lex_main.conf", 20),
    ("state BACKUP", "lex_main.conf", 20),
    ("interface eth0", "lex_main.conf", 21),
    ("virtual_router_id 78", "lex_main.conf", 22),
    ("priority 120", "lex_main.conf", 23),
    ("advert_int 1", "lex_main.conf", 24),
    ("virtual_ipaddress", "lex_main.conf", 25),
    ("{", "lex_main.conf", 25),
    ("10.77.0.200/24", "lex_main.conf", 25),
    ("}", "lex_main.conf", 25),
    ("virtual_ipaddress_excluded", "lex_main.conf", 26),
    ("{", "lex_main.conf", 26),
    ("10.77.1.1/32", "lex_main.conf", 27),
    ("10.77.1.2/32", "lex_main.conf", 27),
    ("10.77.1.3/32", "lex_main.conf", 27),
    ("10.77.2.1/32 dev eth0 scope link label eth0:x", "lex_main.conf", 28),
    ("}", "lex_main.conf", 29),
    ("notify \"/bin/echo hello\\#world 'a b' \\x41\"", "lex_main.conf", 30),
    ("notify_master /bin/true#x", "lex_main.conf", 31),
    ("}", "lex_main.conf", 32),
    ("vrrp_instance VI_ONE", "lex_main.conf", 33),
    ("{", "lex_main.conf", 33),
    ("interface eth0", "lex_main.conf", 33),
    ("virtual_router_id 79", "lex_main.conf", 34),
    ("}", "lex_main.conf", 34),
]


def test_lex_main_evidence(lex_main: Reading) -> None:
    """lex_keepalived.data (keepalived -i nodeA): Router ID nodeA_id, email `a b@x` from `x#y@z`, chk_a's
    command, VI_INC's one VIP, VI_LEX's VIP from $MULTI and excluded VIPs from ~SEQ, VI_LEX's notify
    `'/usr/bin/echo' 'hello#world' 'a b' 'A'` and notify_master `/usr/bin/true` (the VRRP child's reading)."""
    assert texts_at(lex_main.parent) == LEX_MAIN_PARENT
    child = [*LEX_MAIN_PARENT]
    child[child.index(("notify_master /bin/true#x", "lex_main.conf", 31))] = (
        "notify_master /bin/true",
        "lex_main.conf",
        31,
    )
    assert texts_at(lex_main.child) == child
    assert lex_main.messages == []


def test_lex2_evidence(tmp_path: Path) -> None:
    """lex2.conf / lex2_run.log: `100#comment` is 100, `advert_int 1 \\` is `1\\`, `abc!def` is `abc`,
    `"abc!def"` is kept, the text after `}` is read in the enclosing block, keywords are case-sensitive."""
    shutil.copy(EVIDENCE / "lex2.conf", tmp_path / "lex2.conf")
    reading = read_lines(tmp_path, None, main="lex2.conf")
    assert texts_at(reading.parent) == [
        ("vrrp_instance VI_A", "lex2.conf", 1),
        ("{", "lex2.conf", 2),
        ("interface eth0", "lex2.conf", 3),
        ("virtual_router_id 90", "lex2.conf", 4),
        ("priority 100", "lex2.conf", 5),
        ("priority 120", "lex2.conf", 6),
        ("advert_int 1\\", "lex2.conf", 7),
        ("authentication", "lex2.conf", 8),
        ("{", "lex2.conf", 8),
        ("auth_type PASS", "lex2.conf", 9),
        ("auth_pass abc", "lex2.conf", 10),
        ("}", "lex2.conf", 11),
        ("virtual_ipaddress", "lex2.conf", 12),
        ("{", "lex2.conf", 12),
        ("10.77.0.190/24", "lex2.conf", 13),
        ("}", "lex2.conf", 14),
        ('notify_master "/bin/echo a!b#c"', "lex2.conf", 14),
        ("}", "lex2.conf", 15),
        ("vrrp_instance VI_B", "lex2.conf", 16),
        ("{", "lex2.conf", 16),
        ("interface eth0", "lex2.conf", 17),
        ("virtual_router_id 91", "lex2.conf", 18),
        ("authentication", "lex2.conf", 19),
        ("{", "lex2.conf", 19),
        ("auth_type PASS", "lex2.conf", 20),
        ('auth_pass "abc!def"', "lex2.conf", 21),
        ("}", "lex2.conf", 22),
        ("virtual_ipaddress", "lex2.conf", 23),
        ("{", "lex2.conf", 23),
        ("10.77.0.191/24   dev   eth0", "lex2.conf", 24),
        ("}", "lex2.conf", 25),
        ("State BACKUP", "lex2.conf", 26),
        ("}", "lex2.conf", 27),
    ]
    assert texts_at(reading.child) == texts_at(reading.parent)
    assert reading.messages == []


@pytest.mark.parametrize(
    ("name", "parent", "child"),
    [
        (
            "lex3_escape_global.conf",
            ["router_id a#b", "notification_email_from x!y@z"],
            ["router_id a", "notification_email_from x"],
        ),
        (
            "lex3_escape_notify.conf",
            [
                "notify_master /bin/echo#x",
                "notify_backup /bin/echo a#b c",
                'notify_fault "/bin/echo a\\#b c"',
            ],
            ["notify_master /bin/echo", "notify_backup /bin/echo a", 'notify_fault "/bin/echo a\\#b c"'],
        ),
        (
            "lex3_hash_builtin.conf",
            [
                "router_id r",
                'notify_master "/bin/echo a#b"',
                "notify_backup /bin/echo",
                'notify_fault "/bin/echo a\\!b"',
            ],
            [
                "router_id r",
                'notify_master "/bin/echo a#b"',
                "notify_backup /bin/echo",
                'notify_fault "/bin/echo a\\!b"',
            ],
        ),
    ],
)
def test_lex3_evidence(tmp_path: Path, name: str, parent: list[str], child: list[str]) -> None:
    """keepalived-behaviour.md 1.1: global_defs are taken from the parent's reading (router_id `a#b`), VRRP
    keywords from the child's (notify_master `/usr/bin/echo`, notify_fault `a!b`, router_id `r`)."""
    shutil.copy(EVIDENCE / name, tmp_path / name)
    reading = read_lines(tmp_path, None, main=name)
    words = ("router_id", "notification_email_from", "notify_")
    assert [line.text for line in reading.parent if line.text.startswith(words)] == parent
    assert [line.text for line in reading.child if line.text.startswith(words)] == child


def test_messages_name_the_file_and_line_they_come_from(read_config: ReadConfig) -> None:
    result = read_config(
        "foo_main\ninclude sub/x.conf\n\nfoo_after\n",
        files={"sub/x.conf": '# comment\nfoo_inc {\n  "unterminated\n}\n'},
    )
    assert [(d.message, d.file, d.line) for d in result.report] == [
        ("Unknown keyword 'foo_main'", MAIN, 1),
        ("Unknown keyword 'foo_inc'", "sub/x.conf", 2),
        ("Unterminated quote '\"unterminated'", "sub/x.conf", 3),
        ("Unmatched quote: '\"unterminated'", "sub/x.conf", 3),
        ("Unknown keyword 'foo_after'", MAIN, 4),
    ]
